package io.capsule.core.options;

import java.time.Duration;

/**
 * Project-wide defaults (capsule.toml [tasks], or the Java API) used where a task sets no option of its
 * own. Null fields fall back to the built-in defaults of spec section 2.
 */
public record TaskDefaults(Long fuel, Long ramBytes, Duration timeout, Integer maxRetries) {
    public static final TaskDefaults BUILT_IN = new TaskDefaults(null, null, null, null);
}
