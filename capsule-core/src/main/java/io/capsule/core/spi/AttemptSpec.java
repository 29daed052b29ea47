package io.capsule.core.spi;

import com.fasterxml.jackson.databind.JsonNode;
import io.capsule.core.options.Limits;
import java.io.OutputStream;
import java.util.Map;

/**
 * What one attempt runs.
 *
 * @param attempt which attempt this is: 0 for the first, 1 for the first retry
 * @param taskName the task to run, or null for the program's entry task ("main", else a main() function)
 * @param args positional arguments (a JSON array)
 * @param kwargs keyword arguments (a JSON object; Python only)
 * @param limits limits known before the instance starts (for the entry task: the ceilings until it
 *     declares its own options through {@link HostBridge#configure})
 * @param environment the environment variables the task may see, names and values
 * @param stdout where the guest's standard output goes
 * @param stderr where the guest's standard error goes
 */
public record AttemptSpec(
        int attempt,
        String taskName,
        JsonNode args,
        JsonNode kwargs,
        Limits limits,
        Map<String, String> environment,
        OutputStream stdout,
        OutputStream stderr) {}
