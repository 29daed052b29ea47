package io.capsule.core.options;

import java.time.Duration;

/**
 * What the host allows any task of a run at most, whatever the task asks for. Quantities a task asks
 * beyond the ceiling are lowered to it (see docs/decisions.md); the number and depth of sub-tasks are
 * bounded per run.
 *
 * @param maxFuel fuel budget ceiling per attempt
 * @param maxRamBytes memory cap ceiling per instance; also the default when nothing asks for less
 * @param maxTimeout wall-clock ceiling per attempt, null for none
 * @param maxRetries retry ceiling per task
 * @param maxSubtasks sub-tasks one run may start in all (attempts of the same sub-task count once)
 * @param maxDepth how deep sub-tasks may nest (the entry task is depth 0)
 */
public record Ceilings(
        long maxFuel, long maxRamBytes, Duration maxTimeout, int maxRetries, int maxSubtasks, int maxDepth) {

    public static final Ceilings DEFAULT =
            new Ceilings(Units.FUEL_HIGH, 1L << 30, null, 10, 1000, 16);

    public Ceilings {
        if (maxFuel <= 0 || maxRamBytes <= 0 || maxRetries < 0 || maxSubtasks < 0 || maxDepth < 0) {
            throw new IllegalArgumentException("ceilings must be positive");
        }
    }

    public Ceilings withMaxRamBytes(long bytes) {
        return new Ceilings(maxFuel, bytes, maxTimeout, maxRetries, maxSubtasks, maxDepth);
    }

    public Ceilings withMaxTimeout(Duration timeout) {
        return new Ceilings(maxFuel, maxRamBytes, timeout, maxRetries, maxSubtasks, maxDepth);
    }

    public Ceilings withMaxFuel(long fuel) {
        return new Ceilings(fuel, maxRamBytes, maxTimeout, maxRetries, maxSubtasks, maxDepth);
    }

    public Ceilings withSubtasks(int count, int depth) {
        return new Ceilings(maxFuel, maxRamBytes, maxTimeout, maxRetries, count, depth);
    }
}
