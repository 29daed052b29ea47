package io.capsule.core.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.capsule.core.ProjectFiles;
import io.capsule.core.options.InvalidTaskException;
import io.capsule.core.options.TaskOptions;
import io.capsule.core.policy.AccessPolicy;
import io.capsule.core.options.Ceilings;
import io.capsule.core.options.TaskDefaults;
import io.capsule.core.options.Units;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.tomlj.Toml;
import org.tomlj.TomlParseError;
import org.tomlj.TomlArray;
import org.tomlj.TomlParseResult;
import org.tomlj.TomlPosition;
import org.tomlj.TomlTable;

/**
 * A project's {@code capsule.toml} (spec section 5): the workflow's name, version and entry point, the
 * project-wide task defaults ({@code default_*}) and the host's ceilings ({@code max_*}). Every key is
 * optional; every bad value, unknown key or syntax error is a {@link ConfigException} naming the file,
 * line and key.
 *
 * @param file the file read, or null when the project has none
 * @param name {@code [workflow].name}, or null
 * @param version {@code [workflow].version}, or null
 * @param entrypoint {@code [workflow].entrypoint} resolved against the project root, or null
 * @param defaults used where a task sets no option of its own
 * @param ceilings what no task may exceed
 * @param access what tasks may reach at most (directories, hosts, environment variables, HTTP use);
 *     without mounts, which are the command line's
 */
public record ProjectConfig(Path file, String name, String version, Path entrypoint, TaskDefaults defaults,
        Ceilings ceilings, AccessPolicy access) {

    /** No capsule.toml: built-in defaults and ceilings. */
    public static final ProjectConfig NONE =
            new ProjectConfig(null, null, null, null, TaskDefaults.BUILT_IN, Ceilings.DEFAULT, AccessPolicy.DEFAULT);

    private static final Map<String, Set<String>> KEYS = Map.of(
            "workflow", Set.of("name", "version", "entrypoint"),
            "tasks", Set.of("default_compute", "default_ram", "default_timeout", "default_max_retries",
                    "max_compute", "max_ram", "max_timeout", "max_retries", "max_subtasks", "max_depth",
                    "max_allowed_files", "max_allowed_hosts", "max_env_variables",
                    "max_http_requests", "max_http_response", "max_http_redirects", "http_timeout"));

    /** Reads {@code capsule.toml} in {@code projectRoot}; {@link #NONE} when there is none. */
    public static ProjectConfig load(Path projectRoot) {
        Path file = projectRoot.resolve(ProjectFiles.CONFIG_FILE);
        return Files.isRegularFile(file) ? parse(file) : NONE;
    }

    /** Reads the configuration of the project {@code file} belongs to (see {@link ProjectFiles#findProjectRoot}). */
    public static ProjectConfig forFile(Path file) {
        return load(ProjectFiles.findProjectRoot(file));
    }

    public static ProjectConfig parse(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new ConfigException(file, 0, null, "cannot read: " + e.getMessage());
        }
        return parse(file, text);
    }

    /** Parses {@code text} as the contents of {@code file} (which need not exist). */
    public static ProjectConfig parse(Path file, String text) {
        TomlParseResult toml = Toml.parse(text);
        if (toml.hasErrors()) {
            TomlParseError e = toml.errors().get(0);
            throw new ConfigException(file, e.position() == null ? 0 : e.position().line(), null,
                    "not valid TOML: " + e.getMessage().replaceFirst(" \\(line \\d+, column \\d+\\)$", ""));
        }
        return new Reader(file, toml).read();
    }

    /** Validates while reading, so every message can point at the key's line. */
    private static final class Reader {
        private final Path file;
        private final TomlParseResult toml;

        Reader(Path file, TomlParseResult toml) {
            this.file = file;
            this.toml = toml;
        }

        ProjectConfig read() {
            for (String top : toml.keySet()) {
                Set<String> known = KEYS.get(top);
                if (known == null) {
                    throw error(List.of(top), "unknown " + (toml.isTable(top) ? "table" : "key")
                            + "; capsule.toml has the tables [workflow] and [tasks]");
                }
                if (!toml.isTable(top)) {
                    throw error(List.of(top), "must be a table ([" + top + "])");
                }
                TomlTable table = toml.getTable(top);
                for (String key : table.keySet()) {
                    if (!known.contains(key)) {
                        throw error(List.of(top, key), "unknown key; [" + top + "] takes "
                                + String.join(", ", known.stream().sorted().toList()));
                    }
                }
            }
            String name = string("workflow", "name");
            String version = string("workflow", "version");
            String entry = string("workflow", "entrypoint");
            Path entrypoint = null;
            Path root = (file.toAbsolutePath().getParent() == null ? Path.of("") : file.toAbsolutePath().getParent());
            if (entry != null) {
                Path rel = Path.of(entry).normalize();
                if (entry.isBlank() || rel.isAbsolute() || rel.startsWith("..")) {
                    throw error(List.of("workflow", "entrypoint"),
                            "must be a file path relative to the project directory, got \"" + entry + "\"");
                }
                entrypoint = root.resolve(rel).normalize();
            }
            Ceilings c = Ceilings.DEFAULT;
            Long maxFuel = value("tasks", "max_compute", Reader::compute);
            Long maxRam = value("tasks", "max_ram", Reader::size);
            Duration maxTimeout = value("tasks", "max_timeout", Reader::duration);
            Integer maxRetries = count("tasks", "max_retries", 1000);
            Integer maxSubtasks = count("tasks", "max_subtasks", 1_000_000);
            Integer maxDepth = count("tasks", "max_depth", 1000);
            Ceilings ceilings = new Ceilings(
                    maxFuel != null ? maxFuel : c.maxFuel(),
                    maxRam != null ? maxRam : c.maxRamBytes(),
                    maxTimeout != null ? maxTimeout : c.maxTimeout(),
                    maxRetries != null ? maxRetries : c.maxRetries(),
                    maxSubtasks != null ? maxSubtasks : c.maxSubtasks(),
                    maxDepth != null ? maxDepth : c.maxDepth());
            TaskDefaults defaults = new TaskDefaults(
                    value("tasks", "default_compute", Reader::compute),
                    value("tasks", "default_ram", Reader::size),
                    value("tasks", "default_timeout", Reader::duration),
                    count("tasks", "default_max_retries", 1000));
            above("default_compute", defaults.fuel(), "max_compute", maxFuel);
            above("default_ram", defaults.ramBytes(), "max_ram", maxRam);
            above("default_max_retries", defaults.maxRetries() == null ? null : defaults.maxRetries().longValue(),
                    "max_retries", maxRetries == null ? null : maxRetries.longValue());
            if (defaults.timeout() != null && maxTimeout != null && defaults.timeout().compareTo(maxTimeout) > 0) {
                throw error(List.of("tasks", "default_timeout"), "is above max_timeout ("
                        + Units.formatDuration(maxTimeout) + ")");
            }
            return new ProjectConfig(file, name, version, entrypoint, defaults, ceilings, access());
        }

        /** The sandbox ceilings; list values are checked with the task options' own rules. */
        private AccessPolicy access() {
            AccessPolicy a = AccessPolicy.DEFAULT;
            TaskOptions files = option("max_allowed_files", "allowed_files");
            TaskOptions hosts = option("max_allowed_hosts", "allowed_hosts");
            TaskOptions env = option("max_env_variables", "env_variables");
            if (files != null) {
                a = a.withMaxFiles(files.allowedFiles());
            }
            if (hosts != null) {
                a = a.withMaxHosts(hosts.allowedHosts());
            }
            if (env != null) {
                a = a.withMaxEnv(Set.copyOf(env.envVariables()));
            }
            AccessPolicy.HttpLimits h = a.http();
            Integer requests = count("tasks", "max_http_requests", 1_000_000);
            Long response = value("tasks", "max_http_response", Reader::size);
            Integer redirects = count("tasks", "max_http_redirects", 100);
            Duration timeout = value("tasks", "http_timeout", Reader::duration);
            return a.withHttp(new AccessPolicy.HttpLimits(
                    response != null ? response : h.maxResponseBytes(),
                    requests != null ? requests : h.maxRequests(),
                    timeout != null ? timeout : h.requestTimeout(),
                    redirects != null ? redirects : h.maxRedirects()));
        }

        /** Reads {@code [tasks].key} as the task option {@code option} would be read, or null when unset. */
        private TaskOptions option(String key, String option) {
            Object v = toml.get(List.of("tasks", key));
            if (v == null) {
                return null;
            }
            ObjectNode node = JsonNodeFactory.instance.objectNode();
            node.set(option, json(v));
            try {
                return TaskOptions.fromJson(node, "capsule.toml");
            } catch (InvalidTaskException e) {
                String prefix = "capsule.toml: invalid " + option + "=" + node.get(option) + ": ";
                String why = e.getMessage().startsWith(prefix) ? e.getMessage().substring(prefix.length()) : e.getMessage();
                throw error(List.of("tasks", key), "invalid value " + show(v) + ": " + why);
            }
        }

        private static JsonNode json(Object v) {
            if (v instanceof TomlArray array) {
                ArrayNode out = JsonNodeFactory.instance.arrayNode();
                for (int i = 0; i < array.size(); i++) {
                    out.add(json(array.get(i)));
                }
                return out;
            }
            if (v instanceof TomlTable table) {
                ObjectNode out = JsonNodeFactory.instance.objectNode();
                for (String k : table.keySet()) {
                    out.set(k, json(table.get(List.of(k))));
                }
                return out;
            }
            if (v instanceof String str) {
                return JsonNodeFactory.instance.textNode(str);
            }
            if (v instanceof Long n) {
                return JsonNodeFactory.instance.numberNode(n);
            }
            if (v instanceof Double d) {
                return JsonNodeFactory.instance.numberNode(d);
            }
            if (v instanceof Boolean b) {
                return JsonNodeFactory.instance.booleanNode(b);
            }
            return JsonNodeFactory.instance.textNode(String.valueOf(v));
        }

        /** A project default the project's own ceiling would cut is a mistake worth reporting. */
        private void above(String key, Long value, String ceilingKey, Long ceiling) {
            if (value != null && ceiling != null && value > ceiling) {
                throw error(List.of("tasks", key), "is above " + ceilingKey + " (" + ceiling + ")");
            }
        }

        private String string(String table, String key) {
            return value(table, key, v -> {
                if (!(v instanceof String s)) {
                    throw new IllegalArgumentException("expected a string");
                }
                return s;
            });
        }

        private Integer count(String table, String key, int max) {
            return value(table, key, v -> {
                if (!(v instanceof Long n) || n < 0 || n > max) {
                    throw new IllegalArgumentException("expected a whole number from 0 to " + max);
                }
                return n.intValue();
            });
        }

        private static Long compute(Object v) {
            if (v instanceof Long n) {
                if (n <= 0) {
                    throw new IllegalArgumentException("fuel must be greater than zero");
                }
                return n;
            }
            if (v instanceof String s) {
                return Units.parseCompute(s);
            }
            throw new IllegalArgumentException("expected LOW, MEDIUM, HIGH or a positive integer amount of fuel");
        }

        private static Long size(Object v) {
            if (v instanceof Long n) {
                if (n <= 0) {
                    throw new IllegalArgumentException("a size must be greater than zero");
                }
                return n;
            }
            if (v instanceof String s) {
                return Units.parseSize(s);
            }
            throw new IllegalArgumentException("expected a size such as \"64MB\", \"2GB\" or \"512KB\"");
        }

        private static Duration duration(Object v) {
            if (v instanceof Long n) {
                if (n <= 0) {
                    throw new IllegalArgumentException("a duration must be greater than zero");
                }
                return Duration.ofMillis(n);
            }
            if (v instanceof String s) {
                return Units.parseDuration(s);
            }
            throw new IllegalArgumentException("expected a duration such as \"500ms\", \"30s\", \"5m\" or \"1h\"");
        }

        private <T> T value(String table, String key, Function<Object, T> parse) {
            Object v = toml.get(List.of(table, key));
            if (v == null) {
                return null;
            }
            try {
                return parse.apply(v);
            } catch (IllegalArgumentException e) {
                throw error(List.of(table, key), "invalid value " + show(v) + ": " + e.getMessage());
            }
        }

        private static String show(Object v) {
            if (v instanceof TomlArray || v instanceof TomlTable) {
                return json(v).toString();
            }
            return v instanceof String s ? "\"" + s + "\"" : String.valueOf(v);
        }

        private ConfigException error(List<String> key, String problem) {
            TomlPosition at = toml.inputPositionOf(key);
            return new ConfigException(file, at == null ? 0 : at.line(), String.join(".", key), problem);
        }
    }
}
