package io.capsule.core.spi;

import com.fasterxml.jackson.databind.JsonNode;
import io.capsule.core.Envelope;
import io.capsule.core.options.InvalidTaskException;
import io.capsule.core.options.Limits;
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

    /** Runs a sub-task in a fresh instance with its own limits and retries; blocks until its envelope. */
    Envelope callTask(String taskName, JsonNode options, JsonNode args, JsonNode kwargs) throws InterruptedException;
}
