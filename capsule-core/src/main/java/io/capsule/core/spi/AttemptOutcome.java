package io.capsule.core.spi;

import com.fasterxml.jackson.databind.JsonNode;
import io.capsule.core.ErrorType;
import io.capsule.core.TaskError;

/**
 * How one attempt ended, as the runtime saw it.
 *
 * @param result the task's return value when {@code error} is null
 * @param error what went wrong, or null
 * @param taskName the task that ran (the entry task's real name once known), or null
 * @param ramUsed peak linear memory in bytes, or null
 * @param fuelConsumed fuel used, or null when not metered
 */
public record AttemptOutcome(JsonNode result, TaskError error, String taskName, Long ramUsed, Long fuelConsumed) {
    public static AttemptOutcome success(JsonNode result, String taskName, Long ramUsed, Long fuel) {
        return new AttemptOutcome(result, null, taskName, ramUsed, fuel);
    }

    public static AttemptOutcome failure(ErrorType type, String message, String taskName, Long ramUsed, Long fuel) {
        return new AttemptOutcome(null, new TaskError(type, message), taskName, ramUsed, fuel);
    }
}
