package io.capsule.core;

import java.util.Objects;

/** The {@code error} object of a failed envelope. */
public record TaskError(ErrorType type, String message) {
    public TaskError {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(message, "message");
    }
}
