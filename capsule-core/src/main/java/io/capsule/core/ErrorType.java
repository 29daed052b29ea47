package io.capsule.core;

import java.util.Locale;

/** The {@code error.type} values of the result envelope (spec section 3). */
public enum ErrorType {
    TIMEOUT,
    FUEL_EXHAUSTED,
    MEMORY_EXHAUSTED,
    /** The guest raised, or returned something that is not JSON-serialisable. */
    TASK_ERROR,
    /** A file/host/env access outside the policy that the task turned into an error. */
    PERMISSION_DENIED,
    /** Unknown task, bad options, bad arguments. */
    INVALID_TASK,
    /** A host fault: never the guest's fault. */
    INTERNAL_ERROR;

    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static ErrorType fromWireName(String name) {
        for (ErrorType t : values()) {
            if (t.wireName().equals(name)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown error type: " + name);
    }

    /** Failures that a fresh attempt cannot change are not retried. */
    public boolean retryable() {
        return this != INVALID_TASK && this != PERMISSION_DENIED;
    }
}
