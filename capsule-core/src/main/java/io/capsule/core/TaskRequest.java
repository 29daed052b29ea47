package io.capsule.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.capsule.core.options.Ceilings;
import io.capsule.core.options.TaskDefaults;
import io.capsule.core.policy.AccessPolicy;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One run: a program (a file, or source text), the task to start (default: the entry task), its
 * arguments, and the host's defaults and ceilings. Immutable; build with {@link #file} or {@link #source}.
 */
public final class TaskRequest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final Path artifact;
    private final String sourceText;
    private final String sourceName;
    private final Path projectRoot;
    private final String taskName;
    private final ArrayNode args;
    private final TaskDefaults defaults;
    private final Ceilings ceilings;
    private final Map<String, String> hostEnvironment;
    private final OutputStream stdout;
    private final OutputStream stderr;
    private final TaskListener listener;
    private final AccessPolicy access;

    private TaskRequest(Builder b) {
        this.file = b.file;
        this.artifact = b.artifact;
        this.sourceText = b.sourceText;
        this.sourceName = b.sourceName;
        this.projectRoot = b.projectRoot;
        this.taskName = b.taskName;
        this.args = b.args.deepCopy();
        this.defaults = b.defaults;
        this.ceilings = b.ceilings;
        this.hostEnvironment = Map.copyOf(b.hostEnvironment);
        this.stdout = b.stdout;
        this.stderr = b.stderr;
        this.listener = b.listener;
        this.access = b.access;
    }

    /** Runs the program in {@code file}; the project root is the nearest directory with a capsule.toml, else the file's directory. */
    public static Builder file(Path file) {
        Builder b = new Builder();
        b.file = Objects.requireNonNull(file, "file");
        return b;
    }

    /**
     * Runs a prepared artifact written by {@code capsule build} (see {@link io.capsule.core.project.Artifact});
     * relative paths in options resolve against the current directory unless {@link Builder#projectRoot}
     * says otherwise. The artifact's own defaults and ceilings are not applied: pass them with
     * {@link Builder#defaults} and {@link Builder#ceilings}.
     */
    public static Builder artifact(Path artifact) {
        Builder b = new Builder();
        b.artifact = Objects.requireNonNull(artifact, "artifact");
        return b;
    }

    /**
     * Runs source text. {@code fileName} ("main.py", "main.ts") selects the language and names the
     * file in tracebacks; relative paths in options resolve against the current directory unless
     * {@link Builder#projectRoot} says otherwise. Without a project root the text runs alone: the
     * project's other source files (modules it could import) are part of the run only when
     * {@link Builder#projectRoot} names the project.
     */
    public static Builder source(String fileName, String text) {
        Builder b = new Builder();
        b.sourceName = Objects.requireNonNull(fileName, "fileName");
        b.sourceText = Objects.requireNonNull(text, "text");
        return b;
    }

    public Path file() { return file; }
    public Path artifact() { return artifact; }
    public String sourceText() { return sourceText; }
    public String sourceName() { return sourceName; }
    public Path projectRoot() { return projectRoot; }
    public String taskName() { return taskName; }
    public ArrayNode args() { return args.deepCopy(); }
    public TaskDefaults defaults() { return defaults; }
    public Ceilings ceilings() { return ceilings; }
    public Map<String, String> hostEnvironment() { return hostEnvironment; }
    public OutputStream stdout() { return stdout; }
    public OutputStream stderr() { return stderr; }
    public TaskListener listener() { return listener; }
    public AccessPolicy access() { return access; }

    public static final class Builder {
        private Path file;
        private Path artifact;
        private String sourceText;
        private String sourceName;
        private Path projectRoot;
        private String taskName;
        private ArrayNode args = JsonNodeFactory.instance.arrayNode();
        private TaskDefaults defaults = TaskDefaults.BUILT_IN;
        private Ceilings ceilings = Ceilings.DEFAULT;
        private Map<String, String> hostEnvironment = System.getenv();
        private OutputStream stdout;
        private OutputStream stderr;
        private TaskListener listener = TaskListener.NONE;
        private AccessPolicy access = AccessPolicy.DEFAULT;

        private Builder() {}

        public Builder projectRoot(Path root) {
            this.projectRoot = root;
            return this;
        }

        /** The task to start; default: the entry task ("main", else a module-level main()). */
        public Builder task(String name) {
            this.taskName = name;
            return this;
        }

        /** Arguments as Java values (anything Jackson can turn into JSON). */
        public Builder args(List<?> values) {
            this.args = JSON.valueToTree(values);
            return this;
        }

        /** Arguments as a JSON array. */
        public Builder args(JsonNode array) {
            if (!array.isArray()) {
                throw new IllegalArgumentException("arguments must be a JSON array, got " + array.getNodeType());
            }
            this.args = (ArrayNode) array.deepCopy();
            return this;
        }

        public Builder defaults(TaskDefaults defaults) {
            this.defaults = Objects.requireNonNull(defaults);
            return this;
        }

        public Builder ceilings(Ceilings ceilings) {
            this.ceilings = Objects.requireNonNull(ceilings);
            return this;
        }

        /** The host environment that {@code env_variables} picks from; default: this process's. */
        public Builder hostEnvironment(Map<String, String> env) {
            this.hostEnvironment = Objects.requireNonNull(env);
            return this;
        }

        /** Also stream the guest's output here as it is printed (it is always captured in the envelope). */
        public Builder stdout(OutputStream out) {
            this.stdout = out;
            return this;
        }

        public Builder stderr(OutputStream err) {
            this.stderr = err;
            return this;
        }

        /**
         * The host's ceiling on files, hosts and environment variables, its own mounts, and HTTP bounds;
         * default: {@link AccessPolicy#DEFAULT}.
         */
        public Builder access(AccessPolicy access) {
            this.access = Objects.requireNonNull(access);
            return this;
        }

        public Builder listener(TaskListener listener) {
            this.listener = Objects.requireNonNull(listener);
            return this;
        }

        public TaskRequest build() {
            return new TaskRequest(this);
        }
    }
}
