package io.capsule.core.exec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.capsule.core.Envelope;
import io.capsule.core.ErrorType;
import io.capsule.core.Execution;
import io.capsule.core.TaskAttempt;
import io.capsule.core.TaskError;
import io.capsule.core.options.InvalidTaskException;
import io.capsule.core.options.Limits;
import io.capsule.core.options.TaskOptions;
import io.capsule.core.policy.HttpGateway;
import io.capsule.core.policy.MountTable;
import io.capsule.core.policy.PermissionDeniedException;
import io.capsule.core.spi.AttemptOutcome;
import io.capsule.core.spi.AttemptSpec;
import io.capsule.core.spi.HostBridge;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one task to its envelope: attempts in fresh instances, retries, deadlines, and the host side of
 * the guest's calls (option reports and sub-tasks).
 */
public final class TaskRunner {
    private static final Logger LOG = LoggerFactory.getLogger(TaskRunner.class);

    private final Run run;
    private final String requestedName;
    private final JsonNode args;
    private final JsonNode kwargs;
    private final int depth;
    private final boolean entry;
    private Limits startLimits;
    private String taskName;
    private final long taskId;
    private Long parentTaskId;
    /** Every attempt's HTTP requests, for {@code execution.host_requests}. */
    private final List<JsonNode> hostRequests = Collections.synchronizedList(new ArrayList<>());

    private TaskRunner(Run run, String requestedName, JsonNode args, JsonNode kwargs, int depth, Limits limits, boolean entry) {
        this.run = run;
        this.requestedName = requestedName;
        this.taskName = requestedName == null ? "main" : requestedName;
        this.args = args;
        this.kwargs = kwargs == null ? JsonNodeFactory.instance.objectNode() : kwargs;
        this.depth = depth;
        this.startLimits = limits;
        this.entry = entry;
        this.taskId = run.nextTaskId();
    }

    /**
     * The run's first task. Its own options are only known once its code is loaded, so it starts
     * under the ceilings and is tightened when it reports them.
     */
    public static TaskRunner entry(Run run, String taskName, JsonNode args) {
        Limits ceiling = new Limits(taskName == null ? "main" : taskName, run.ceilings.maxFuel(),
                run.ceilings.maxRamBytes(), run.ceilings.maxTimeout(), 0, List.of(), List.of(), List.of());
        return new TaskRunner(run, taskName, args, null, 0, ceiling, true);
    }

    public Envelope execute() {
        long start = System.nanoTime();
        int attemptNo = 0;
        int maxRetries = startLimits.maxRetries();
        AttemptOutcome outcome;
        Long fuel = null; // all attempts' fuel: what the task really used (docs/decisions.md)
        BoundedCapture out;
        BoundedCapture err;
        while (true) {
            run.listener.started(taskName, attemptNo, depth);
            out = new BoundedCapture(Run.CAPTURE_LIMIT, run.stdout);
            err = new BoundedCapture(Run.CAPTURE_LIMIT, run.stderr);
            Attempt attempt = new Attempt(startLimits, run.timers);
            TaskAttempt info = attemptInfo(attemptNo);
            run.listener.attemptCreated(info);
            try {
                outcome = runAttempt(attemptNo, attempt, out, err, info);
            } catch (InterruptedException e) {
                // The caller (a parent task) was stopped: stop this task too and report why.
                attempt.stop(new TaskError(ErrorType.INTERNAL_ERROR, "Parent task stopped"));
                Thread.currentThread().interrupt();
                outcome = AttemptOutcome.failure(ErrorType.INTERNAL_ERROR, "Parent task stopped before this task finished",
                        taskName, null, null);
                run.listener.attemptFinished(info, outcome.error(), null, null);
                break;
            }
            if (outcome.fuelConsumed() != null) {
                fuel = (fuel == null ? 0 : fuel) + outcome.fuelConsumed();
            }
            if (outcome.taskName() != null) {
                taskName = outcome.taskName();
            }
            run.listener.attemptFinished(attemptInfo(attemptNo), outcome.error(), outcome.fuelConsumed(), outcome.ramUsed());
            maxRetries = attempt.limits().maxRetries();
            if (outcome.error() == null || !outcome.error().type().retryable() || attemptNo >= maxRetries
                    || run.cancelled()) {
                break;
            }
            attemptNo++;
            run.listener.retrying(taskName, attemptNo, outcome.error());
        }
        long durationMs = (System.nanoTime() - start) / 1_000_000;
        Execution execution = new Execution(taskName, durationMs, attemptNo, fuel, outcome.ramUsed(),
                out.text(), err.text(), List.copyOf(hostRequests), run.cancelled());
        Envelope envelope = outcome.error() == null
                ? Envelope.success(outcome.result(), execution)
                : Envelope.failure(outcome.error(), execution);
        run.listener.finished(envelope, depth);
        return envelope;
    }

    private TaskAttempt attemptInfo(int attemptNo) {
        return new TaskAttempt(run.id, taskId, parentTaskId, taskName, attemptNo, depth);
    }

    private AttemptOutcome runAttempt(int attemptNo, Attempt attempt, BoundedCapture out, BoundedCapture err,
            TaskAttempt info) throws InterruptedException {
        Map<String, String> env = environmentFor(startLimits);
        AttemptSpec spec = new AttemptSpec(attemptNo, entry ? requestedName : taskName, args, kwargs, startLimits, env, out, err);
        Bridge bridge = new Bridge(attempt, new HttpGateway.RequestLog(() -> environmentFor(attempt.limits()).values()));
        run.register(attempt);
        try {
            if (startLimits.timeout() != null) {
                attempt.applyLimits(startLimits);
            }
            run.guestThreads.execute(() -> runGuest(attempt, spec, bridge, info));
            AttemptOutcome result = attempt.outcome().get();
            hostRequests.addAll(bridge.log.entries());
            return result;
        } catch (ExecutionException e) {
            LOG.error("attempt of task {} failed in the host", taskName, e.getCause());
            return AttemptOutcome.failure(ErrorType.INTERNAL_ERROR, "Host failure: " + e.getCause(), taskName, null, null);
        } finally {
            run.unregister(attempt);
        }
    }

    private void runGuest(Attempt attempt, AttemptSpec spec, Bridge bridge, TaskAttempt info) {
        if (!attempt.enter()) {
            return;
        }
        try {
            run.listener.attemptRunning(info);
            attempt.finish(run.program.runAttempt(spec, bridge));
        } catch (StackOverflowError e) {
            attempt.finish(AttemptOutcome.failure(ErrorType.TASK_ERROR,
                    "Stack overflow: the task recursed too deeply", taskName, null, null));
        } catch (OutOfMemoryError e) {
            attempt.finish(AttemptOutcome.failure(ErrorType.INTERNAL_ERROR,
                    "The host ran out of memory while running this task", taskName, null, null));
        } catch (Throwable t) {
            LOG.error("task {} crashed in the host", taskName, t);
            attempt.finish(AttemptOutcome.failure(ErrorType.INTERNAL_ERROR, "Host failure: " + t, taskName, null, null));
        } finally {
            attempt.leave();
        }
    }

    private Map<String, String> environmentFor(Limits limits) {
        Map<String, String> env = new LinkedHashMap<>();
        for (String name : limits.envVariables()) {
            String value = run.hostEnvironment.get(name);
            if (value != null) {
                env.put(name, value);
            }
        }
        return env;
    }

    /** Never lets a guest's report widen the limits an attempt started with. */
    static Limits tighten(Limits current, Limits asked) {
        long fuel = Math.min(current.fuel(), asked.fuel());
        long ram = Math.min(current.ramBytes(), asked.ramBytes());
        java.time.Duration timeout = current.timeout() == null ? asked.timeout()
                : asked.timeout() == null ? current.timeout()
                : asked.timeout().compareTo(current.timeout()) < 0 ? asked.timeout() : current.timeout();
        return new Limits(asked.taskName(), fuel, ram, timeout, asked.maxRetries(),
                asked.allowedFiles(), asked.allowedHosts(), asked.envVariables());
    }

    /** The host side of one attempt's calls. */
    private final class Bridge implements HostBridge {
        private final Attempt attempt;
        private final HttpGateway.RequestLog log;
        private volatile MountTable mounts;
        private volatile boolean configured;

        Bridge(Attempt attempt, HttpGateway.RequestLog log) {
            this.attempt = attempt;
            this.log = log;
        }

        @Override
        public Limits configure(String name, JsonNode options) {
            if (configured) {
                // Once: a second report could only try to change grants that are already in use.
                throw new InvalidTaskException("task '" + name + "' was already configured");
            }
            String label = "task '" + name + "'";
            TaskOptions declared = TaskOptions.fromJson(options, label);
            Limits asked = Limits.resolve(name, declared, run.defaults, run.ceilings);
            Limits effective = tighten(attempt.limits(), asked);
            if (!entry) {
                // A sub-task's grants and retries were fixed by the call that started it.
                Limits started = attempt.limits();
                effective = new Limits(name, effective.fuel(), effective.ramBytes(), effective.timeout(),
                        started.maxRetries(), started.allowedFiles(), started.allowedHosts(), started.envVariables());
            } else {
                // The entry task's grants are checked against the host's ceiling before any of them is used.
                run.grants().check(effective, null);
                mounts = run.grants().mounts(effective.allowedFiles());
            }
            attempt.applyLimits(effective);
            configured = true;
            return effective;
        }

        @Override
        public MountTable mounts() {
            MountTable m = mounts;
            if (m == null) {
                m = run.grants().mounts(attempt.limits().allowedFiles());
                mounts = m;
            }
            return m;
        }

        @Override
        public JsonNode http(JsonNode request) throws IOException, InterruptedException {
            return run.http().handle(request, attempt.limits().allowedHosts(), attempt.remaining(), log);
        }

        @Override
        public Map<String, String> environment() {
            return environmentFor(attempt.limits());
        }

        @Override
        public Envelope callTask(String name, JsonNode options, JsonNode callArgs, JsonNode callKwargs)
                throws InterruptedException {
            Execution none = new Execution(name, 0, 0, null, null, null, null, List.of(), run.cancelled());
            if (run.cancelled()) {
                return Envelope.failure(new TaskError(ErrorType.INTERNAL_ERROR, "Task was cancelled by the host"), none);
            }
            if (depth + 1 > run.ceilings.maxDepth()) {
                return Envelope.failure(new TaskError(ErrorType.INVALID_TASK, "Sub-task '" + name
                        + "' not started: sub-tasks may nest at most " + run.ceilings.maxDepth() + " deep"), none);
            }
            if (!run.takeSubtask()) {
                return Envelope.failure(new TaskError(ErrorType.INVALID_TASK, "Sub-task '" + name
                        + "' not started: this run may start at most " + run.ceilings.maxSubtasks() + " sub-tasks"), none);
            }
            Limits childLimits;
            try {
                TaskOptions declared = TaskOptions.fromJson(options, "task '" + name + "'");
                childLimits = Limits.resolve(name, declared, run.defaults, run.ceilings);
                // A sub-task never gets files, hosts or variables its caller does not have.
                run.grants().check(childLimits, attempt.limits());
                run.grants().mounts(childLimits.allowedFiles());
            } catch (InvalidTaskException e) {
                return Envelope.failure(new TaskError(ErrorType.INVALID_TASK, e.getMessage()), none);
            } catch (PermissionDeniedException e) {
                return Envelope.failure(new TaskError(ErrorType.PERMISSION_DENIED, e.getMessage()), none);
            }
            TaskRunner child = new TaskRunner(run, name, callArgs, callKwargs, depth + 1, childLimits, false);
            child.parentTaskId = taskId;
            Envelope envelope = child.execute();
            if (Thread.currentThread().isInterrupted()) {
                throw new InterruptedException("parent task stopped");
            }
            return envelope;
        }
    }
}
