package io.capsule.wasm;

import com.dylibso.chicory.runtime.ChicoryInterruptedException;
import com.dylibso.chicory.runtime.TrapException;
import com.dylibso.chicory.wasm.ChicoryException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.capsule.core.ErrorType;
import io.capsule.core.options.InvalidTaskException;
import io.capsule.core.options.Limits;
import io.capsule.core.options.TaskOptions;
import io.capsule.core.options.Units;
import io.capsule.core.policy.PermissionDeniedException;
import io.capsule.core.spi.AttemptOutcome;
import io.capsule.core.spi.HostBridge;
import io.capsule.wasm.fuel.FuelExhaustedException;
import io.capsule.wasm.fuel.FuelMeter;
import java.util.Iterator;
import java.util.Map;

/**
 * What every guest runtime's host side does the same way: answering a host call (with the error the
 * guest sees when the call is refused), applying a task's reported options to its instance, and
 * judging how an attempt failed. The guest is never trusted on any of these.
 */
public final class GuestCalls {
    private static final ObjectMapper JSON = new ObjectMapper();

    private GuestCalls() {}

    /** Serves one host call into {@code answer}. */
    @FunctionalInterface
    public interface Call {
        void serve(ObjectNode answer) throws InterruptedException, JsonProcessingException;
    }

    /**
     * Runs {@code call} and returns its answer; a refusal becomes {@code {"ok": false, "error": ...}}. An
     * interrupt (deadline, cancel) unwinds the guest instead.
     */
    public static ObjectNode answer(Call call) {
        ObjectNode answer = JSON.createObjectNode();
        try {
            call.serve(answer);
        } catch (PermissionDeniedException e) {
            fail(answer, ErrorType.PERMISSION_DENIED, e.getMessage());
        } catch (InvalidTaskException e) {
            fail(answer, ErrorType.INVALID_TASK, e.getMessage());
        } catch (JsonProcessingException e) {
            fail(answer, ErrorType.INVALID_TASK, "bad host call: " + e.getOriginalMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ChicoryInterruptedException("interrupted while waiting in a host call");
        }
        return answer;
    }

    public static void fail(ObjectNode answer, ErrorType type, String message) {
        answer.put("ok", false);
        ObjectNode error = answer.putObject("error");
        error.put("type", type.wireName());
        error.put("message", message);
    }

    /**
     * A task reported its options (and every task's, so a bad option anywhere fails the run at once): the
     * host resolves its limits, and the instance's fuel budget and memory cap are lowered to them. Answers
     * with the task's environment.
     *
     * @param runtime the runtime's name, for the message when the program already uses more memory
     */
    public static Limits configure(HostBridge host, JsonNode call, CappedMemory memory, FuelMeter fuel, String runtime,
            ObjectNode answer) {
        for (Iterator<Map.Entry<String, JsonNode>> it = call.path("tasks").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> t = it.next();
            TaskOptions.fromJson(t.getValue(), "task '" + t.getKey() + "'");
        }
        String task = call.path("task").asText();
        Limits limits = host.configure(task, call.get("options"));
        if (fuel != null) {
            // Fuel the harness spent loading the program counts against the task's own budget.
            fuel.lowerBudget(limits.fuel());
        }
        if (!memory.lowerCap(CappedMemory.pagesFor(limits.ramBytes()))) {
            throw new InvalidTaskException("task '" + task + "': ram " + Units.formatSize(limits.ramBytes())
                    + " is less than the " + Units.formatSize(memory.bytesUsed())
                    + " the " + runtime + " runtime already uses after loading the program");
        }
        answer.put("ok", true);
        answer.set("env", JSON.valueToTree(host.environment()));
        return limits;
    }

    /** The task asked for less memory than the runtime needs to start ({@link Sandbox.Builder#build}'s refusal). */
    public static AttemptOutcome ramTooSmall(long ramBytes, String task, String runtime, IllegalArgumentException e) {
        return AttemptOutcome.failure(ErrorType.INVALID_TASK, "Task '" + task + "': ram " + Units.formatSize(ramBytes)
                + " is too small: the " + runtime + " runtime " + e.getMessage(), task, null, null);
    }

    /** The attempt spent its fuel budget. */
    public static AttemptOutcome outOfFuel(Sandbox sandbox, FuelExhaustedException e, String task) {
        return AttemptOutcome.failure(ErrorType.FUEL_EXHAUSTED, "Task exceeded its fuel budget of " + e.budget() + " units",
                task, sandbox.memory().bytesUsed(), sandbox.fuelConsumed());
    }

    /** The host stopped the attempt (deadline or cancel); it already knows why and reports that instead. */
    public static AttemptOutcome interrupted(Sandbox sandbox, String task) {
        return AttemptOutcome.failure(ErrorType.INTERNAL_ERROR, "Interrupted", task, sandbox.memory().bytesUsed(),
                sandbox.fuelConsumed());
    }

    /**
     * How an exception of the wasm engine ends an attempt, alike for every runtime: fuel spent, stopped by
     * the host (deadline or cancel), a trap (the task's doing), or a failure of the engine itself.
     */
    public static AttemptOutcome engineFailure(Sandbox sandbox, ChicoryException e, String task, String runtime) {
        if (e instanceof FuelExhaustedException spent) {
            return outOfFuel(sandbox, spent, task);
        }
        if (e instanceof ChicoryInterruptedException) {
            return interrupted(sandbox, task);
        }
        if (e instanceof TrapException) {
            return failure(sandbox, ErrorType.TASK_ERROR, "The " + runtime + " runtime trapped: " + e.getMessage(), task);
        }
        if (Thread.currentThread().isInterrupted()) {
            return interrupted(sandbox, task);
        }
        return failure(sandbox, ErrorType.INTERNAL_ERROR, "The wasm engine failed: " + e, task);
    }

    /**
     * How an attempt failed. The guest's word is not trusted: it may only claim memory exhaustion when
     * the host saw the cap refuse a growth, and a refused growth turns any failure into memory exhaustion.
     */
    public static AttemptOutcome failure(Sandbox sandbox, ErrorType claimed, String message, String task) {
        CappedMemory memory = sandbox.memory();
        ErrorType type = claimed;
        if (memory.capHit() && claimed != ErrorType.INVALID_TASK) {
            type = ErrorType.MEMORY_EXHAUSTED;
            message = "Task exceeded its " + Units.formatSize((long) memory.capPages() * CappedMemory.PAGE_SIZE)
                    + " memory limit\n" + message;
        } else if (claimed == ErrorType.MEMORY_EXHAUSTED) {
            type = ErrorType.TASK_ERROR;
        }
        return AttemptOutcome.failure(type, message, task, memory.bytesUsed(), sandbox.fuelConsumed());
    }
}
