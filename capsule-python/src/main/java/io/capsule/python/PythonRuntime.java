package io.capsule.python;

import io.capsule.core.options.InvalidTaskException;
import io.capsule.core.spi.GuestRuntime;
import io.capsule.core.spi.Program;
import io.capsule.core.project.ProjectSources;
import io.capsule.core.spi.ProgramSource;
import io.capsule.wasm.SnapshotCache;
import io.capsule.wasm.WasmTemplate;
import io.capsule.wasm.fuel.MeteredMachines;
import io.trino.wasm.python.PythonMachine;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Python tasks on CPython 3.13 for wasm32-wasi (the Trino build, compiled ahead of time to JVM classes).
 */
public final class PythonRuntime implements GuestRuntime {
    private static final String MODULE_RESOURCE = "/io/trino/wasm/python/Python.meta";
    /** The compiled CPython's checkpoint helper (see MeteredMachines). */
    private static final String CHECKPOINT_CLASS = "io.trino.wasm.python.PythonMachineShaded";

    private final boolean metered;

    /** Python with fuel metering: the runtime tasks run on. */
    public PythonRuntime() {
        this(true);
    }

    private PythonRuntime(boolean metered) {
        this.metered = metered;
    }

    /**
     * CPython exactly as shipped, without fuel metering: {@code compute} is not enforced and
     * {@code fuel_consumed} is null. Only for measuring what metering costs (capsule-bench).
     */
    public static PythonRuntime unmetered() {
        return new PythonRuntime(false);
    }

    /** Parsing the 30 MB module and reading the snapshot take a moment: once per process, on first use. */
    private static final class Holder {
        static {
            // Before anything loads the compiled CPython's checkpoint helper unmetered.
            MeteredMachines.meter(PythonMachine.class, CHECKPOINT_CLASS);
        }

        static final SnapshotCache.WarmImage IMAGE = SnapshotCache.load("python", snapshotKey(),
                () -> {
                    InputStream in = PythonMachine.class.getResourceAsStream(MODULE_RESOURCE);
                    if (in == null) {
                        throw new IllegalStateException("CPython module " + MODULE_RESOURCE + " is not on the class path");
                    }
                    return in;
                },
                PythonMachine::new,
                PythonProgram::warmSnapshot);
        static final WasmTemplate METERED = IMAGE.template().metered(MeteredMachines.CALIBRATED_FUEL_PER_CHECKPOINT);
    }

    private static final class Unmetered {
        static final WasmTemplate TEMPLATE = Holder.IMAGE.template().withMachine(MeteredMachines.unmetered(PythonMachine.class));
    }

    /** What the warm snapshot depends on: the CPython build and the harness sources. */
    private static String snapshotKey() {
        try {
            return SnapshotCache.key(
                    resource(PythonMachine.class, "/META-INF/maven/io.trino/trino-wasm-python/pom.properties"),
                    resource(PythonRuntime.class, "/io/capsule/python/guest/guest.py"),
                    resource(PythonRuntime.class, "/io/capsule/python/guest/capsule/__init__.py"),
                    resource(PythonRuntime.class, "/io/capsule/python/guest/capsule/_net.py"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] resource(Class<?> anchor, String name) throws IOException {
        try (InputStream in = anchor.getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException("missing resource " + name);
            }
            return in.readAllBytes();
        }
    }

    @Override
    public String name() {
        return "python";
    }

    @Override
    public boolean accepts(String fileName) {
        return fileName.endsWith(".py");
    }

    @Override
    public Program load(ProgramSource source) throws InvalidTaskException {
        GuestTree tree = GuestTree.create(source);
        // A program the engine keeps runs many tasks: compile its entry module once for all of them.
        return program(tree, reusable(source) ? PythonProgram.compile(template(), Holder.IMAGE.snapshot(), tree) : null);
    }

    /** A source string run without a project root is its inline files alone: GuestTree copies nothing else. */
    @Override
    public boolean reusable(ProgramSource source) {
        return !source.projectFiles();
    }

    /** Every program, prepared or not, runs on the same (metered) template and snapshot. */
    private Program program(GuestTree tree, String compiledEntry) {
        return new PythonProgram(template(), Holder.IMAGE.snapshot(), tree, compiledEntry);
    }

    private WasmTemplate template() {
        return metered ? Holder.METERED : Unmetered.TEMPLATE;
    }

    @Override
    public void warmUp() {
        // Initialising the holder is the work: it loads the interpreter and its snapshot, once per process.
        Objects.requireNonNull(template());
    }

    @Override
    public boolean isSource(Path relativePath) {
        return GuestTree.isSource(relativePath);
    }

    /** The prepared form is a whole guest tree, so it changes with the harness: its key is part of the format. */
    @Override
    public String preparedFormat() {
        return "python-tree-2-" + PreparedFormat.KEY;
    }

    private static final class PreparedFormat {
        static final String KEY = snapshotKey();
    }

    @Override
    public void prepare(ProgramSource source, ProjectSources sources, Path dir) throws IOException {
        GuestTree.prepare(sources, source.entry(), dir);
        try (GuestTree tree = GuestTree.prepared(dir, source.entry())) {
            String compiled = PythonProgram.compile(template(), Holder.IMAGE.snapshot(), tree);
            if (compiled != null) {
                GuestTree.writeCompiledEntry(dir, compiled);
            }
        }
    }

    @Override
    public Program loadPrepared(ProgramSource source, Path dir) throws InvalidTaskException {
        GuestTree tree = GuestTree.prepared(dir, source.entry());
        return program(tree, tree.compiledEntry());
    }
}
