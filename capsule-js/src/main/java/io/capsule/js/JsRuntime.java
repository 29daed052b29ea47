package io.capsule.js;

import com.dylibso.chicory.runtime.TrapException;
import io.capsule.core.options.InvalidTaskException;
import io.capsule.core.spi.GuestRuntime;
import io.capsule.core.spi.Program;
import io.capsule.core.project.ProjectSources;
import io.capsule.core.spi.ProgramSource;
import io.capsule.js.bundle.BoundedCache;
import io.capsule.js.bundle.Bundle;
import io.capsule.js.bundle.BundleIndex;
import io.capsule.js.bundle.DiskInputs;
import io.capsule.js.bundle.Bundler;
import io.capsule.wasm.Sandbox;
import io.capsule.wasm.Snapshot;
import io.capsule.wasm.SnapshotCache;
import io.capsule.wasm.WasmTemplate;
import io.capsule.wasm.fuel.MeteredMachines;
import io.roastedroot.quickjs4j.core.JavyPluginModule;
import io.roastedroot.quickjs4j.core.JavyPluginModuleMachine;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * TypeScript and JavaScript tasks on QuickJS for wasm (quickjs4j's build, compiled ahead of time to JVM
 * classes). Programs are bundled on the host ({@link Bundler}) and compiled to QuickJS bytecode once;
 * every attempt runs that bytecode in a fresh instance started from a warm snapshot.
 */
public final class JsRuntime implements GuestRuntime {
    private static final String MODULE_RESOURCE = "JavyPluginModule.meta";
    /** The compiled QuickJS's checkpoint helper (see MeteredMachines). */
    private static final String CHECKPOINT_CLASS = "io.roastedroot.quickjs4j.core.JavyPluginModuleMachineShaded";
    private static final String GUEST = "/io/capsule/js/guest/";
    private static final String BUNDLE_CLASSES = "/io/capsule/js/bundle/";
    /** Its bytes change with swc4j's version (the jar has no pom.properties). */
    private static final String SWC4J_CLASS = "/com/caoccao/javet/swc4j/Swc4j.class";
    /** Files of a prepared program: its QuickJS bytecode, the bundle's index, and hashes of files read outside its sources. */
    private static final String BYTECODE_FILE = "program.qjsbc";
    private static final String INDEX_FILE = "bundle.json";
    private static final String INPUTS_FILE = "inputs.json";
    private static final Pattern COMPILE_ERROR = Pattern.compile("Err` value: (?:Error:)?(.*)", Pattern.DOTALL);
    private static final long COMPILER_MEMORY = 1L << 30;
    /** Compiled programs by bundle hash, up to 256 MB of bytecode. */
    private static final BoundedCache<String, byte[]> BYTECODE = new BoundedCache<>(256L << 20, b -> b.length);

    /** The harness, SDK and built-in modules, bundled: what the warm snapshot holds besides QuickJS itself. */
    private static final class Guest {
        static final String PRELUDE = resource("harness.js") + "\n" + Bundler.builtin("@capsule-run/sdk", resource("sdk.js"))
                + Bundler.builtin("path", resource("path.js"));
    }

    /** The parsed module, the warm snapshot and the per-attempt driver scripts: once per process. */
    static final class Holder {
        static {
            // Before anything loads the compiled QuickJS's checkpoint helper unmetered.
            MeteredMachines.meter(JavyPluginModuleMachine.class, CHECKPOINT_CLASS);
        }

        static final SnapshotCache.WarmImage IMAGE = SnapshotCache.load("quickjs", snapshotKey(),
                () -> {
                    InputStream in = JavyPluginModule.class.getResourceAsStream(MODULE_RESOURCE);
                    if (in == null) {
                        throw new IllegalStateException("QuickJS module " + MODULE_RESOURCE + " is not on the class path");
                    }
                    return in;
                },
                JavyPluginModule::create,
                JsRuntime::warmSnapshot);
        static final WasmTemplate METERED = IMAGE.template().metered(MeteredMachines.CALIBRATED_FUEL_PER_CHECKPOINT);
        static final byte[] START = compileTrusted("__capsule.start();");
        static final byte[] TICK = compileTrusted("__capsule.tick();");
    }

    private static String snapshotKey() {
        try (InputStream version = JavyPluginModule.class.getResourceAsStream(
                "/META-INF/maven/io.roastedroot/quickjs4j/pom.properties")) {
            byte[] v = version == null ? new byte[0] : version.readAllBytes();
            return SnapshotCache.key(v, preludeInputs());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * What the prelude and every bundle are made from: the guest sources, the bundler's classes and swc4j's.
     * The key is computed from these rather than from the bundled prelude so that a process that only runs
     * prepared programs never starts the transpiler.
     */
    private static byte[] preludeInputs() throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (String name : List.of(GUEST + "harness.js", GUEST + "sdk.js", GUEST + "path.js",
                BUNDLE_CLASSES + "Bundler.class", BUNDLE_CLASSES + "ModuleTransform.class",
                BUNDLE_CLASSES + "ModuleTransform$Rewriter.class", BUNDLE_CLASSES + "Resolver.class",
                BUNDLE_CLASSES + "Bundle.class", BUNDLE_CLASSES + "LineMap.class", SWC4J_CLASS)) {
            try (InputStream in = JsRuntime.class.getResourceAsStream(name)) {
                if (in == null) {
                    throw new IllegalStateException("missing resource " + name);
                }
                byte[] bytes = in.readAllBytes();
                all.writeBytes(SnapshotCache.key(bytes).getBytes(StandardCharsets.US_ASCII));
            }
        }
        return all.toByteArray();
    }

    /** Starts QuickJS and evaluates the harness and SDK; every attempt starts from this state. */
    static Snapshot warmSnapshot(WasmTemplate template) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (Sandbox sandbox = Sandbox.builder(template)
                .stderr(err)
                .hostFunction(QuickJs.hostCalls((op, payload) -> {
                    throw new IllegalStateException("host call '" + op + "' while preparing the snapshot");
                }))
                .build()) {
            QuickJs.initialize(sandbox);
            QuickJs.exec(sandbox, QuickJs.compile(sandbox, Guest.PRELUDE));
            return Snapshot.take(sandbox);
        } catch (TrapException e) {
            throw new IllegalStateException("The JavaScript harness failed to load: " + err.toString(StandardCharsets.UTF_8), e);
        }
    }

    @Override
    public String name() {
        return "javascript";
    }

    @Override
    public boolean accepts(String fileName) {
        String name = fileName.toLowerCase(Locale.ROOT);
        return name.endsWith(".ts") || name.endsWith(".mts") || name.endsWith(".cts")
                || name.endsWith(".js") || name.endsWith(".mjs") || name.endsWith(".cjs");
    }

    @Override
    public void warmUp() {
        // Initialising the holder is the work: it loads QuickJS and its snapshot, once per process.
        Objects.requireNonNull(Holder.METERED);
    }

    @Override
    public Program load(ProgramSource source) throws InvalidTaskException {
        Built built = build(source.projectRoot(), source.entry(), source.inlineFiles(), null);
        return new JsProgram(Holder.METERED, Holder.IMAGE.snapshot(), built.bundle(), built.bytecode());
    }

    /** A bundle and its bytecode. */
    private record Built(Bundle bundle, byte[] bytecode) {}

    /** Bundles and compiles a program; {@code diskInputs} as in {@link Bundler#bundle(Path, Path, Map, Set, DiskInputs)}. */
    private static Built build(Path root, Path entry, Map<Path, String> inlineFiles, DiskInputs diskInputs) {
        Set<String> sloppy = new HashSet<>();
        while (true) {
            Bundle bundle = Bundler.bundle(root, entry, inlineFiles, sloppy, diskInputs);
            String key = sha256(bundle.code());
            byte[] bytecode = BYTECODE.get(key);
            if (bytecode != null) {
                return new Built(bundle, bytecode);
            }
            Compiled compiled = compileProgram(bundle);
            if (compiled.error() == null) {
                BYTECODE.put(key, compiled.bytecode());
                return new Built(bundle, compiled.bytecode());
            }
            Bundle.Segment culprit = bundle.segmentAt(compiled.error());
            if (culprit == null || !culprit.commonJs() || !sloppy.add(culprit.id())) {
                throw new InvalidTaskException("SyntaxError: " + bundle.mapPositions(compiled.error()));
            }
            // A CommonJS file written for sloppy mode (octal literals, with): compile it on its own, non-strict.
        }
    }

    /** JSON files are imported as modules and package.json steers resolution, so they are sources too. */
    @Override
    public boolean isSource(Path relativePath) {
        String name = relativePath.getFileName().toString().toLowerCase(Locale.ROOT);
        return accepts(name) || name.endsWith(".json") || name.endsWith(".tsx") || name.endsWith(".jsx");
    }

    /** Bytecode is only valid for the QuickJS build, harness and bundler it was made with: all are in the key. */
    @Override
    public String preparedFormat() {
        return "js-bytecode-1-" + FormatKey.KEY;
    }

    private static final class FormatKey {
        static final String KEY = snapshotKey();
    }

    /**
     * Writes the program's bytecode and bundle index. The project's sources are bundled from the bytes the
     * cache key was made from; what bundling found on disk besides them (files of packages in node_modules
     * and their hashes, paths probed and missing) is listed for {@link #isCurrent}.
     */
    @Override
    public void prepare(ProgramSource source, ProjectSources sources, Path dir) throws IOException {
        Map<Path, String> inline = new HashMap<>(source.inlineFiles());
        for (ProjectSources.SourceFile f : sources.files()) {
            inline.putIfAbsent(Path.of(f.path()), new String(f.content(), StandardCharsets.UTF_8));
        }
        DiskInputs diskInputs = new DiskInputs();
        Built built = build(source.projectRoot(), source.entry(), inline, diskInputs);
        Files.write(dir.resolve(BYTECODE_FILE), built.bytecode());
        BundleIndex.write(built.bundle(), dir.resolve(INDEX_FILE));
        Files.writeString(dir.resolve(INPUTS_FILE), diskInputs.toJson());
    }

    /** Runs the stored bytecode: no bundling, no transpiler. */
    @Override
    public Program loadPrepared(ProgramSource source, Path dir) throws InvalidTaskException {
        byte[] bytecode;
        try {
            bytecode = Files.readAllBytes(dir.resolve(BYTECODE_FILE));
        } catch (IOException e) {
            throw new InvalidTaskException("The prepared JavaScript program in " + dir + " has no bytecode: " + e.getMessage());
        }
        return new JsProgram(Holder.METERED, Holder.IMAGE.snapshot(), BundleIndex.read(dir.resolve(INDEX_FILE)), bytecode);
    }

    /** Current while what bundling found on disk when it was prepared still holds. */
    @Override
    public boolean isCurrent(ProgramSource source, Path dir) {
        try {
            return DiskInputs.stillHolds(source.projectRoot(), Files.readString(dir.resolve(INPUTS_FILE)));
        } catch (IOException e) {
            return false;
        }
    }

    /** QuickJS bytecode, or the syntax error QuickJS reported instead. */
    private record Compiled(byte[] bytecode, String error) {}

    /** Compiles the bundle in a throw-away instance. */
    private static Compiled compileProgram(Bundle bundle) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (Sandbox sandbox = compiler(err)) {
            return new Compiled(QuickJs.compile(sandbox, bundle.code()), null);
        } catch (TrapException e) {
            String text = err.toString(StandardCharsets.UTF_8);
            Matcher m = COMPILE_ERROR.matcher(text);
            String detail = m.find() ? m.group(1) : text;
            return new Compiled(null, detail.lines()
                    .filter(l -> !l.isBlank() && !l.startsWith("note:") && !l.startsWith("stack backtrace"))
                    .findFirst().orElse("unknown error").strip());
        }
    }

    private static byte[] compileTrusted(String code) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (Sandbox sandbox = compiler(err)) {
            return QuickJs.compile(sandbox, code);
        } catch (TrapException e) {
            throw new IllegalStateException("Cannot compile the harness driver: " + err.toString(StandardCharsets.UTF_8), e);
        }
    }

    private static Sandbox compiler(ByteArrayOutputStream err) {
        return Sandbox.builder(Holder.IMAGE.template())
                .stderr(err)
                .memoryCap(COMPILER_MEMORY)
                .snapshot(Holder.IMAGE.snapshot())
                .hostFunction(QuickJs.hostCalls((op, payload) -> {
                    throw new IllegalStateException("host call '" + op + "' while compiling");
                }))
                .build();
    }

    private static String resource(String name) {
        try (InputStream in = JsRuntime.class.getResourceAsStream(GUEST + name)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + GUEST + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
