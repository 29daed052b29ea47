package io.capsule.core;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/**
 * The {@code execution} object of an envelope. {@code fuelConsumed} is null while fuel is not metered;
 * {@code ramUsed} is the peak linear memory of the last attempt in bytes.
 */
public record Execution(
        String taskName,
        long durationMs,
        int retries,
        Long fuelConsumed,
        Long ramUsed,
        String stdout,
        String stderr,
        List<JsonNode> hostRequests,
        boolean cancelled) {
    public Execution {
        hostRequests = hostRequests == null ? List.of() : List.copyOf(hostRequests);
    }
}
