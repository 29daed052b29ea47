package io.capsule.core.options;

import java.time.Duration;
import java.util.List;

/**
 * The limits the host enforces on one task: the task's own options, else the project defaults, else the
 * built-in defaults, each lowered to the host's ceiling.
 */
public record Limits(
        String taskName,
        long fuel,
        long ramBytes,
        Duration timeout,
        int maxRetries,
        List<FileGrant> allowedFiles,
        List<String> allowedHosts,
        List<String> envVariables) {

    public static Limits resolve(String taskName, TaskOptions declared, TaskDefaults defaults, Ceilings ceilings) {
        long fuel = first(declared.fuel(), defaults.fuel(), Units.FUEL_MEDIUM);
        long ram = first(declared.ramBytes(), defaults.ramBytes(), ceilings.maxRamBytes());
        Duration timeout = declared.timeout() != null ? declared.timeout() : defaults.timeout();
        int retries = first(declared.maxRetries(), defaults.maxRetries(), 0);
        if (ceilings.maxTimeout() != null && (timeout == null || timeout.compareTo(ceilings.maxTimeout()) > 0)) {
            timeout = ceilings.maxTimeout();
        }
        return new Limits(
                taskName,
                Math.min(fuel, ceilings.maxFuel()),
                Math.min(ram, ceilings.maxRamBytes()),
                timeout,
                Math.min(retries, ceilings.maxRetries()),
                declared.allowedFiles() == null ? List.of() : declared.allowedFiles(),
                declared.allowedHosts() == null ? List.of() : declared.allowedHosts(),
                declared.envVariables() == null ? List.of() : declared.envVariables());
    }

    private static <T> T first(T a, T b, T c) {
        return a != null ? a : b != null ? b : c;
    }
}
