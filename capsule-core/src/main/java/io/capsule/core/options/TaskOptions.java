package io.capsule.core.options;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The options a task declares for itself (spec section 2), as written in task code: every field is null
 * when the task did not set it. They come from untrusted code; {@link Limits#resolve} turns them into
 * the limits the host enforces.
 */
public record TaskOptions(
        String name,
        Long fuel,
        Long ramBytes,
        Duration timeout,
        Integer maxRetries,
        List<FileGrant> allowedFiles,
        List<String> allowedHosts,
        List<String> envVariables) {

    public static final TaskOptions NONE = new TaskOptions(null, null, null, null, null, null, null, null);

    private static final Set<String> KNOWN = Set.of(
            "name", "compute", "ram", "timeout", "max_retries", "allowed_files", "allowed_hosts", "env_variables");
    private static final Map<String, String> CAMEL = Map.of(
            "maxRetries", "max_retries",
            "allowedFiles", "allowed_files",
            "allowedHosts", "allowed_hosts",
            "envVariables", "env_variables");
    private static final Pattern HOST = Pattern.compile("\\*|(\\*\\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(:\\d{1,5})?");
    private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    /**
     * Parses options from their JSON form, with Python (snake_case) or JS (camelCase) names.
     * Null values mean "not set". Every bad value raises {@link InvalidTaskException} naming the task,
     * the option, the value and what is expected.
     */
    public static TaskOptions fromJson(JsonNode node, String taskLabel) {
        if (node == null || node.isNull() || node.isMissingNode()) {
            return NONE;
        }
        if (!node.isObject()) {
            throw new InvalidTaskException(taskLabel + ": options must be an object, got " + node);
        }
        String name = null;
        Long fuel = null;
        Long ram = null;
        Duration timeout = null;
        Integer retries = null;
        List<FileGrant> files = null;
        List<String> hosts = null;
        List<String> env = null;
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            String key = CAMEL.getOrDefault(field.getKey(), field.getKey());
            JsonNode value = field.getValue();
            if (!KNOWN.contains(key)) {
                throw new InvalidTaskException(taskLabel + ": unknown option '" + field.getKey()
                        + "'; known options are name, compute, ram, timeout, max_retries/maxRetries, "
                        + "allowed_files/allowedFiles, allowed_hosts/allowedHosts, env_variables/envVariables");
            }
            if (value.isNull()) {
                continue;
            }
            try {
                switch (key) {
                    case "name" -> name = parseName(value);
                    case "compute" -> fuel = parseCompute(value);
                    case "ram" -> ram = value.isIntegralNumber() ? positive(value.asLong()) : Units.parseSize(text(value));
                    case "timeout" -> timeout = value.isNumber() ? millis(value) : Units.parseDuration(text(value));
                    case "max_retries" -> retries = parseRetries(value);
                    case "allowed_files" -> files = parseFiles(value);
                    case "allowed_hosts" -> hosts = parseStrings(value, HOST, "a host name, \"*.example.com\" or \"*\"");
                    case "env_variables" -> env = parseStrings(value, ENV_NAME, "an environment variable name");
                    default -> throw new IllegalStateException(key);
                }
            } catch (IllegalArgumentException e) {
                throw new InvalidTaskException(taskLabel + ": invalid " + field.getKey() + "=" + value + ": " + e.getMessage());
            }
        }
        return new TaskOptions(name, fuel, ram, timeout, retries, files, hosts, env);
    }

    private static String text(JsonNode value) {
        if (!value.isTextual()) {
            throw new IllegalArgumentException("expected a string");
        }
        return value.asText();
    }

    private static String parseName(JsonNode value) {
        String name = text(value);
        if (name.isBlank() || name.length() > 200) {
            throw new IllegalArgumentException("a task name must be 1 to 200 characters");
        }
        return name;
    }

    private static long parseCompute(JsonNode value) {
        if (value.isIntegralNumber()) {
            return positive(value.asLong());
        }
        if (value.isNumber()) {
            throw new IllegalArgumentException("fuel must be a whole number");
        }
        return Units.parseCompute(text(value));
    }

    private static long positive(long v) {
        if (v <= 0) {
            throw new IllegalArgumentException("must be greater than zero");
        }
        return v;
    }

    private static Duration millis(JsonNode value) {
        double ms = value.asDouble();
        if (!(ms > 0) || ms > Long.MAX_VALUE / 1_000_000d) {
            throw new IllegalArgumentException("a timeout in milliseconds must be greater than zero");
        }
        return Duration.ofNanos((long) (ms * 1_000_000d));
    }

    private static int parseRetries(JsonNode value) {
        if (!value.isIntegralNumber() || value.asLong() < 0 || value.asLong() > 1000) {
            throw new IllegalArgumentException("expected a whole number from 0 to 1000");
        }
        return value.asInt();
    }

    private static List<FileGrant> parseFiles(JsonNode value) {
        List<FileGrant> out = new ArrayList<>();
        for (JsonNode item : list(value)) {
            if (item.isTextual()) {
                out.add(new FileGrant(nonEmpty(item.asText()), true));
            } else if (item.isObject()) {
                for (Iterator<String> it = item.fieldNames(); it.hasNext(); ) {
                    String k = it.next();
                    if (!k.equals("path") && !k.equals("mode")) {
                        throw new IllegalArgumentException("unknown key '" + k + "' in " + item + " (expected path and mode)");
                    }
                }
                String mode = item.path("mode").isMissingNode() ? "rw" : text(item.get("mode"));
                out.add(new FileGrant(nonEmpty(text(item.path("path"))), FileGrant.parseWritable(mode)));
            } else {
                throw new IllegalArgumentException("expected \"./dir\" or {\"path\": \"./dir\", \"mode\": \"ro\"}, got " + item);
            }
        }
        return List.copyOf(out);
    }

    private static String nonEmpty(String path) {
        if (path.isBlank()) {
            throw new IllegalArgumentException("a path must not be empty");
        }
        return path;
    }

    private static List<String> parseStrings(JsonNode value, Pattern pattern, String what) {
        List<String> out = new ArrayList<>();
        for (JsonNode item : list(value)) {
            String s = text(item);
            if (!pattern.matcher(s).matches()) {
                throw new IllegalArgumentException("\"" + s + "\" is not " + what);
            }
            out.add(s);
        }
        return List.copyOf(out);
    }

    private static Iterable<JsonNode> list(JsonNode value) {
        if (value.isTextual()) {
            return List.of(value);
        }
        if (!value.isArray()) {
            throw new IllegalArgumentException("expected a list");
        }
        return value;
    }
}
