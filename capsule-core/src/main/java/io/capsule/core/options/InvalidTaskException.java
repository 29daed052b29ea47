package io.capsule.core.options;

/** Bad options, unknown task, bad arguments: becomes an {@code invalid_task} envelope. */
public class InvalidTaskException extends RuntimeException {
    public InvalidTaskException(String message) {
        super(message);
    }
}
