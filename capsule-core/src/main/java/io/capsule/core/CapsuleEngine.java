package io.capsule.core;

import io.capsule.core.exec.GuestThread;
import io.capsule.core.exec.LoadedPrograms;
import io.capsule.core.exec.Run;
import io.capsule.core.exec.TaskRunner;
import io.capsule.core.options.InvalidTaskException;
import io.capsule.core.project.Artifact;
import io.capsule.core.project.ProjectCache;
import io.capsule.core.project.ProjectSources;
import io.capsule.core.spi.GuestRuntime;
import io.capsule.core.spi.Program;
import io.capsule.core.spi.ProgramSource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The entry point of the Java API. Create one per process and share it: it is thread-safe, runs many
 * tasks at once, and every task attempt gets its own fresh sandbox instance.
 *
 * <pre>{@code
 * try (CapsuleEngine engine = CapsuleEngine.builder().build()) {
 *     Envelope e = engine.run(TaskRequest.file(Path.of("main.py")).args(List.of(1, 2)).build());
 * }
 * }</pre>
 */
public final class CapsuleEngine implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CapsuleEngine.class);
    /** Guest code recurses on the JVM stack (one JVM frame per wasm call), so guest threads get a deep one. */
    private static final long GUEST_STACK_BYTES = 256L << 20;

    private final List<GuestRuntime> runtimes;
    private final boolean projectCache;
    private final ExecutorService guestThreads;
    private final ExecutorService runThreads;
    private final ScheduledExecutorService timers;
    /** Programs of source-string requests, kept for repeats (services run the same code on every request). */
    private final LoadedPrograms loaded = new LoadedPrograms(32);

    private CapsuleEngine(List<GuestRuntime> runtimes, boolean projectCache) {
        this.runtimes = List.copyOf(runtimes);
        this.projectCache = projectCache;
        this.guestThreads = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 30, TimeUnit.SECONDS,
                new SynchronousQueue<>(), daemonThreads("capsule-guest-",
                        (task, name) -> new GuestThread(task, name, GUEST_STACK_BYTES)));
        this.runThreads = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 30, TimeUnit.SECONDS,
                new SynchronousQueue<>(), daemonThreads("capsule-run-", Thread::new));
        this.timers = Executors.newSingleThreadScheduledExecutor(daemonThreads("capsule-timer-", Thread::new));
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The runtimes this engine knows, by name. */
    public List<String> runtimeNames() {
        return runtimes.stream().map(GuestRuntime::name).toList();
    }

    /** Runs a request and waits for its envelope. Task failures are in the envelope, never thrown. */
    public Envelope run(TaskRequest request) throws InterruptedException {
        return submit(request).envelope();
    }

    /** Starts a request and returns at once. */
    public TaskHandle submit(TaskRequest request) {
        CompletableFuture<Envelope> result = new CompletableFuture<>();
        Run[] holder = new Run[1];
        Object lock = new Object();
        boolean[] cancelled = {false};
        String label = request.taskName() != null ? request.taskName() : "main";
        runThreads.execute(() -> {
            long start = System.nanoTime();
            Program program = null;
            try {
                program = load(request, request.listener());
                Run run = new Run(program, request.defaults(), request.ceilings(), request.hostEnvironment(),
                        request.stdout(), request.stderr(), request.listener(), guestThreads, timers);
                run.access(projectRoot(request), request.access());
                synchronized (lock) {
                    holder[0] = run;
                    if (cancelled[0]) {
                        run.cancel();
                    }
                }
                result.complete(TaskRunner.entry(run, request.taskName(), request.args()).execute());
            } catch (InvalidTaskException e) {
                result.complete(failure(label, start, ErrorType.INVALID_TASK, e.getMessage()));
            } catch (Throwable t) {
                LOG.error("run of {} failed in the host", label, t);
                result.complete(failure(label, start, ErrorType.INTERNAL_ERROR, "Host failure: " + t));
            } finally {
                if (program != null) {
                    program.close();
                }
            }
        });
        return new TaskHandle(result, () -> {
            synchronized (lock) {
                cancelled[0] = true;
                if (holder[0] != null) {
                    holder[0].cancel();
                }
            }
        });
    }

    private static Envelope failure(String task, long startNanos, ErrorType type, String message) {
        Execution x = new Execution(task, (System.nanoTime() - startNanos) / 1_000_000, 0, null, null, null, null,
                List.of(), false);
        return Envelope.failure(new TaskError(type, message), x);
    }

    /** What {@link #prepare} made: the runtime's prepared files for a program, ready to pack as an artifact. */
    public record Prepared(String runtime, String preparedFormat, Path entry, Path dir, boolean reused) {}

    /**
     * Prepares a file's program in its project's cache (as a first run would) and warms the runtime up,
     * without running anything. Throws {@link InvalidTaskException} for a program that cannot be loaded.
     */
    public Prepared prepare(TaskRequest request) throws IOException {
        TaskListener listener = request.listener();
        if (request.file() == null) {
            throw new InvalidTaskException("Only a file can be prepared ahead of time");
        }
        ProgramSource source = fileSource(request);
        GuestRuntime runtime = runtimeFor(source.entry().getFileName().toString());
        if (runtime.preparedFormat() == null) {
            throw new InvalidTaskException("The " + runtime.name() + " runtime does not prepare programs ahead of time");
        }
        ProjectCache.Entry entry = cached(runtime, source, listener);
        try (Program warm = runtime.loadPrepared(source, entry.dir())) {
            // Loading once builds whatever the runtime keeps per machine (the warm-start snapshot).
        }
        return new Prepared(runtime.name(), runtime.preparedFormat(), source.entry(), entry.dir(), entry.reused());
    }

    private ProjectCache.Entry cached(GuestRuntime runtime, ProgramSource source, TaskListener listener) throws IOException {
        ProjectSources sources = ProjectSources.scan(source.projectRoot(), runtime::isSource);
        if (!sources.contains(source.entry())) {
            throw new InvalidTaskException("Entry file " + source.entry() + " is not a " + runtime.name()
                    + " source file of the project at " + source.projectRoot());
        }
        String key = cacheKey(runtime.preparedFormat(), source.entry().toString().replace('\\', '/'), sources.digest());
        return ProjectCache.of(source.projectRoot()).getOrBuild(runtime.name(), key,
                dir -> {
                    listener.preparing(source.entry().toString());
                    runtime.prepare(source, sources, dir);
                }, dir -> runtime.isCurrent(source, dir));
    }

    private static String cacheKey(String... parts) {
        try {
            java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
            for (String p : parts) {
                sha.update(p.getBytes(java.nio.charset.StandardCharsets.UTF_8));
                sha.update((byte) 0);
            }
            return java.util.HexFormat.of().formatHex(sha.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private Program load(TaskRequest request, TaskListener listener) throws IOException {
        long start = System.nanoTime();
        if (request.artifact() != null) {
            Program p = loadArtifact(request);
            listener.programLoaded(request.artifact().toString(), true, (System.nanoTime() - start) / 1_000_000);
            return p;
        }
        if (request.file() != null && projectCache) {
            ProgramSource source = fileSource(request);
            GuestRuntime runtime = runtimeFor(source.entry().getFileName().toString());
            if (runtime.preparedFormat() != null) {
                ProjectCache.Entry entry;
                try {
                    entry = cached(runtime, source, listener);
                } catch (IOException e) {
                    // A read-only project or a full disk must not stop the run: prepare it privately.
                    LOG.warn("cannot use the project cache under {}: {}", source.projectRoot(), e.toString());
                    return load(request);
                }
                Program p = runtime.loadPrepared(source, entry.dir());
                listener.programLoaded(request.file().toString(), entry.reused(), (System.nanoTime() - start) / 1_000_000);
                return p;
            }
        }
        Program p = load(request);
        listener.programLoaded(request.file() != null ? request.file().toString() : request.sourceName(), false,
                (System.nanoTime() - start) / 1_000_000);
        return p;
    }

    private Program loadArtifact(TaskRequest request) throws IOException {
        Path dir = Files.createTempDirectory("capsule-artifact-");
        try {
            Artifact artifact;
            try {
                artifact = Artifact.open(request.artifact(), dir);
            } catch (java.nio.file.NoSuchFileException e) {
                throw new InvalidTaskException("Artifact not found: " + request.artifact());
            } catch (IOException e) {
                throw new InvalidTaskException(e.getMessage());
            }
            GuestRuntime runtime = runtimes.stream().filter(r -> r.name().equals(artifact.runtime())).findFirst()
                    .orElseThrow(() -> new InvalidTaskException("Artifact " + request.artifact() + " needs the "
                            + artifact.runtime() + " runtime, which this engine does not have"));
            if (!artifact.preparedFormat().equals(runtime.preparedFormat())) {
                throw new InvalidTaskException("Artifact " + request.artifact() + " was built for another version of the "
                        + runtime.name() + " runtime; rebuild it with 'capsule build'");
            }
            Path root = (request.projectRoot() != null ? request.projectRoot() : Path.of("")).toAbsolutePath().normalize();
            Program program = runtime.loadPrepared(new ProgramSource(root, artifact.entry(), Map.of()), artifact.dir());
            return new Program() {
                @Override
                public io.capsule.core.spi.AttemptOutcome runAttempt(io.capsule.core.spi.AttemptSpec spec,
                        io.capsule.core.spi.HostBridge host) {
                    return program.runAttempt(spec, host);
                }

                @Override
                public void close() {
                    program.close();
                    ProjectCache.deleteTree(dir);
                }
            };
        } catch (RuntimeException e) {
            ProjectCache.deleteTree(dir);
            throw e;
        }
    }

    private ProgramSource fileSource(TaskRequest request) {
        Path file = request.file().toAbsolutePath().normalize();
        if (!Files.isRegularFile(file)) {
            throw new InvalidTaskException("File not found: " + request.file());
        }
        Path root = request.projectRoot() != null
                ? request.projectRoot().toAbsolutePath().normalize()
                : ProjectFiles.findProjectRoot(file);
        if (!file.startsWith(root)) {
            throw new InvalidTaskException("File " + file + " is outside the project root " + root);
        }
        return new ProgramSource(root, root.relativize(file), Map.of());
    }

    private GuestRuntime runtimeFor(String fileName) {
        for (GuestRuntime runtime : runtimes) {
            if (runtime.accepts(fileName)) {
                return runtime;
            }
        }
        throw new InvalidTaskException("No runtime runs " + fileName + " (known runtimes: "
                + String.join(", ", runtimeNames()) + "; Python files end in .py)");
    }

    private Program load(TaskRequest request) {
        ProgramSource source;
        String fileName;
        if (request.file() != null) {
            Path file = request.file().toAbsolutePath().normalize();
            if (!Files.isRegularFile(file)) {
                throw new InvalidTaskException("File not found: " + request.file());
            }
            Path root = projectRoot(request);
            if (!file.startsWith(root)) {
                throw new InvalidTaskException("File " + file + " is outside the project root " + root);
            }
            source = new ProgramSource(root, root.relativize(file), Map.of());
            fileName = file.getFileName().toString();
        } else {
            Path root = projectRoot(request);
            Path entry = Path.of(request.sourceName()).normalize();
            if (entry.isAbsolute() || entry.startsWith("..")) {
                throw new InvalidTaskException("Source name must be a relative file name, got " + request.sourceName());
            }
            source = new ProgramSource(root, entry, Map.of(entry, request.sourceText()), request.projectRoot() != null);
            fileName = entry.getFileName().toString();
        }
        for (GuestRuntime runtime : runtimes) {
            if (runtime.accepts(fileName)) {
                if (request.file() == null && runtime.reusable(source)) {
                    ProgramSource s = source;
                    return loaded.acquire(cacheKey(runtime.name(), s.projectRoot().toString(), s.entry().toString(),
                            request.sourceText()), () -> runtime.load(s));
                }
                return runtime.load(source);
            }
        }
        throw new InvalidTaskException("No runtime runs " + fileName + " (known runtimes: "
                + String.join(", ", runtimeNames()) + "; Python files end in .py)");
    }

    /** The directory relative paths resolve against: given, else found from the file, else the current one. */
    private static Path projectRoot(TaskRequest request) {
        if (request.projectRoot() != null) {
            return request.projectRoot().toAbsolutePath().normalize();
        }
        return request.file() != null
                ? ProjectFiles.findProjectRoot(request.file().toAbsolutePath().normalize())
                : Path.of("").toAbsolutePath().normalize();
    }

    @Override
    public void close() {
        loaded.close();
        runThreads.shutdownNow();
        guestThreads.shutdownNow();
        timers.shutdownNow();
    }

    /** Numbered daemon threads made by {@code newThread(task, name)}. */
    private static ThreadFactory daemonThreads(String prefix, BiFunction<Runnable, String, Thread> newThread) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = newThread.apply(r, prefix + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    public static final class Builder {
        private final List<GuestRuntime> runtimes = new ArrayList<>();
        private boolean projectCache = true;

        private Builder() {}

        /** Adds a runtime by hand; without any, the runtimes on the class path are found by ServiceLoader. */
        public Builder runtime(GuestRuntime runtime) {
            runtimes.add(runtime);
            return this;
        }

        /**
         * Whether file runs prepare their program once into the project's {@code .capsule/cache/} and reuse
         * it until a source changes (default: true). Off, every run prepares a private copy.
         */
        public Builder projectCache(boolean enabled) {
            this.projectCache = enabled;
            return this;
        }

        public CapsuleEngine build() {
            List<GuestRuntime> found = new ArrayList<>(runtimes);
            if (found.isEmpty()) {
                ServiceLoader.load(GuestRuntime.class).forEach(found::add);
            }
            if (found.isEmpty()) {
                throw new IllegalStateException("No guest runtime on the class path (add capsule-python)");
            }
            return new CapsuleEngine(found, projectCache);
        }
    }
}
