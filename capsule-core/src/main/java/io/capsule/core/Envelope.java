package io.capsule.core;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/** The JSON result envelope every task run produces (spec section 3). */
public record Envelope(boolean success, JsonNode result, TaskError error, Execution execution) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public Envelope {
        Objects.requireNonNull(execution, "execution");
        result = result == null ? NullNode.getInstance() : result;
        if (success == (error != null)) {
            throw new IllegalArgumentException("a successful envelope has no error, a failed one has one");
        }
    }

    public static Envelope success(JsonNode result, Execution execution) {
        return new Envelope(true, result, null, execution);
    }

    public static Envelope failure(TaskError error, Execution execution) {
        return new Envelope(false, null, error, execution);
    }

    /** The envelope as a JSON tree, field order as in the spec. */
    public ObjectNode toJsonNode() {
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode root = f.objectNode();
        root.put("success", success);
        root.set("result", result);
        if (error == null) {
            root.putNull("error");
        } else {
            ObjectNode e = root.putObject("error");
            e.put("type", error.type().wireName());
            e.put("message", error.message());
        }
        ObjectNode x = root.putObject("execution");
        x.put("task_name", execution.taskName());
        x.put("duration_ms", execution.durationMs());
        x.put("retries", execution.retries());
        if (execution.fuelConsumed() == null) {
            x.putNull("fuel_consumed");
        } else {
            x.put("fuel_consumed", execution.fuelConsumed());
        }
        if (execution.ramUsed() != null) {
            x.put("ram_used", execution.ramUsed());
        }
        if (execution.stdout() != null) {
            x.put("stdout", execution.stdout());
        }
        if (execution.stderr() != null) {
            x.put("stderr", execution.stderr());
        }
        if (!execution.hostRequests().isEmpty()) {
            x.putArray("host_requests").addAll(execution.hostRequests());
        }
        if (execution.cancelled()) {
            x.put("cancelled", true);
        }
        return root;
    }

    /** One line of JSON. */
    public String toJson() {
        try {
            return JSON.writeValueAsString(toJsonNode());
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Reads an envelope written by {@link #toJson()}. */
    public static Envelope fromJson(JsonNode node) {
        JsonNode x = node.path("execution");
        JsonNode err = node.path("error");
        TaskError error = err.isObject()
                ? new TaskError(ErrorType.fromWireName(err.path("type").asText()), err.path("message").asText())
                : null;
        List<JsonNode> requests = new ArrayList<>();
        x.path("host_requests").forEach(requests::add);
        Execution execution = new Execution(
                x.path("task_name").asText(),
                x.path("duration_ms").asLong(),
                x.path("retries").asInt(),
                x.path("fuel_consumed").isNumber() ? x.path("fuel_consumed").asLong() : null,
                x.path("ram_used").isNumber() ? x.path("ram_used").asLong() : null,
                x.path("stdout").isTextual() ? x.path("stdout").asText() : null,
                x.path("stderr").isTextual() ? x.path("stderr").asText() : null,
                requests,
                x.path("cancelled").asBoolean(false));
        return new Envelope(node.path("success").asBoolean(), node.get("result"), error, execution);
    }

    @Override
    public String toString() {
        return toJson();
    }
}
