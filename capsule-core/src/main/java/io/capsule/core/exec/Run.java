package io.capsule.core.exec;

import io.capsule.core.ErrorType;
import io.capsule.core.TaskError;
import io.capsule.core.TaskListener;
import io.capsule.core.options.Ceilings;
import io.capsule.core.options.TaskDefaults;
import io.capsule.core.policy.AccessPolicy;
import io.capsule.core.policy.Grants;
import io.capsule.core.policy.HttpGateway;
import io.capsule.core.spi.Program;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicInteger;

/** Everything one run's tasks share: the program, the policy, the sub-task budget, and cancellation. */
public final class Run {
    /** Bytes of stdout and of stderr kept per task for its envelope. */
    static final int CAPTURE_LIMIT = 1 << 20;

    final Program program;
    final TaskDefaults defaults;
    final Ceilings ceilings;
    final Map<String, String> hostEnvironment;
    final OutputStream stdout;
    final OutputStream stderr;
    final TaskListener listener;
    final Executor guestThreads;
    final ScheduledExecutorService timers;
    /** Names this run in lifecycle events and traces. */
    final String id = java.util.UUID.randomUUID().toString();
    private final java.util.concurrent.atomic.AtomicLong taskIds = new java.util.concurrent.atomic.AtomicLong();
    private final AtomicInteger subtasks = new AtomicInteger();
    private final Set<Attempt> running = ConcurrentHashMap.newKeySet();
    private volatile boolean cancelled;
    private volatile Grants grants = new Grants(Path.of(""), AccessPolicy.DEFAULT);
    private volatile HttpGateway http;

    public Run(Program program, TaskDefaults defaults, Ceilings ceilings, Map<String, String> hostEnvironment,
            OutputStream stdout, OutputStream stderr, TaskListener listener,
            Executor guestThreads, ScheduledExecutorService timers) {
        this.program = program;
        this.defaults = defaults;
        this.ceilings = ceilings;
        this.hostEnvironment = hostEnvironment;
        this.stdout = stdout;
        this.stderr = stderr;
        this.listener = listener;
        this.guestThreads = guestThreads;
        this.timers = timers;
    }

    /** The project the run's relative paths resolve against, and the host's access ceiling. */
    public void access(Path projectRoot, AccessPolicy policy) {
        this.grants = new Grants(projectRoot, policy);
    }

    Grants grants() {
        return grants;
    }

    /** The run's HTTP gateway (its limits come from the access policy), made on first use. */
    synchronized HttpGateway http() {
        if (http == null) {
            http = new HttpGateway(grants.policy().http());
        }
        return http;
    }

    /** Counts one more sub-task against the run's budget; false when the budget is spent. */
    boolean takeSubtask() {
        return subtasks.incrementAndGet() <= ceilings.maxSubtasks();
    }

    long nextTaskId() {
        return taskIds.incrementAndGet();
    }

    boolean cancelled() {
        return cancelled;
    }

    public void cancel() {
        cancelled = true;
        for (Attempt a : running) {
            a.stop(new TaskError(ErrorType.INTERNAL_ERROR, "Task was cancelled by the host"));
        }
    }

    void register(Attempt a) {
        running.add(a);
        if (cancelled) {
            cancel();
        }
    }

    void unregister(Attempt a) {
        running.remove(a);
    }
}
