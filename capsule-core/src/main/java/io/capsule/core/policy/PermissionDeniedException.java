package io.capsule.core.policy;

/**
 * A request outside the host's policy (a sub-task asking for more files, hosts or environment variables
 * than its parent has, a host not in {@code allowed_hosts}): becomes a {@code permission_denied} error.
 */
public class PermissionDeniedException extends RuntimeException {
    public PermissionDeniedException(String message) {
        super(message);
    }
}
