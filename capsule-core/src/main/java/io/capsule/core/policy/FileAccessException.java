package io.capsule.core.policy;

/**
 * A file access the sandbox refuses. Runtimes turn the reason into the guest's own error
 * (WASI errno for Python, a Node-style error code for JavaScript).
 */
public final class FileAccessException extends RuntimeException {
    /** Why the access was refused. */
    public enum Reason {
        /** The path (or one of its directories) does not exist. ENOENT. */
        NOT_FOUND,
        /** A directory on the way is a file. ENOTDIR. */
        NOT_DIRECTORY,
        /** Outside the allowed directories, a symbolic link, or a file with other hard links. EACCES. */
        DENIED,
        /** A write to a read-only directory. EROFS. */
        READ_ONLY,
        /** An operation the sandbox never allows (creating links). EPERM. */
        NOT_PERMITTED,
        /** Removing or renaming the root of an allowed directory. EBUSY. */
        BUSY
    }

    private final Reason reason;

    public FileAccessException(Reason reason, String message) {
        super(message, null, false, false);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
