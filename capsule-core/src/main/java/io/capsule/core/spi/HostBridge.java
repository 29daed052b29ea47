package io.capsule.core.spi;

import com.fasterxml.jackson.databind.JsonNode;
import io.capsule.core.Envelope;
import io.capsule.core.options.InvalidTaskException;
import io.capsule.core.options.Limits;
import io.capsule.core.policy.MountTable;
import java.io.IOException;
import java.util.Map;

/** What a running guest may ask of the host. Every call is checked against the run's policy. */
public interface HostBridge {
    /**
     * The guest found the task it runs and reports its declared options (raw JSON from task code).
     * Returns the limits now in force; they never exceed the ones the attempt started with.
     */
    Limits configure(String taskName, JsonNode options) throws InvalidTaskException;

    /** The environment variables (names and values) the task may see under the limits now in force. */
    Map<String, String> environment();

    /**
     * The directories the task may see under the limits now in force (its {@code allowed_files} plus the
     * host's own mounts). For the entry task this changes once, when {@link #configure} has checked its
     * grants.
     */
    default MountTable mounts() {
        return MountTable.EMPTY;
    }

    /**
     * An HTTP request on the task's behalf, checked against its {@code allowed_hosts} and recorded in
     * {@code execution.host_requests}; JSON in and out as described by
     * {@link io.capsule.core.policy.HttpGateway#handle}.
     *
     * @throws io.capsule.core.policy.PermissionDeniedException when a host is not allowed
     * @throws IOException when the request fails (network, timeout, response too large)
     */
    default JsonNode http(JsonNode request) throws IOException, InterruptedException {
        throw new io.capsule.core.policy.PermissionDeniedException("this host gives tasks no network access");
    }

    /** Runs a sub-task in a fresh instance with its own limits and retries; blocks until its envelope. */
    Envelope callTask(String taskName, JsonNode options, JsonNode args, JsonNode kwargs) throws InterruptedException;
}
