package io.capsule.python;

import io.capsule.core.options.InvalidTaskException;
import io.capsule.core.project.ProjectSources;
import io.capsule.core.spi.ProgramSource;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The directory a Python instance sees as {@code /guest}: the harness, the {@code capsule} SDK, and a
 * copy of the project's Python sources under {@code app/}. Only sources are copied, so nothing else of
 * the project is visible unless a task is granted it; the guest cannot change the tree.
 */
final class GuestTree implements AutoCloseable {
    static final String GUEST_ROOT = "/guest";
    static final String APP = "app";
    /** In a prepared tree: the entry module compiled and marshalled (base64), when it compiles. */
    private static final String COMPILED_ENTRY = "entry.code";
    private static final String RESOURCES = "/io/capsule/python/guest/";
    private static final List<String> HARNESS_FILES = List.of("guest.py", "capsule/__init__.py", "capsule/_net.py");

    private final Path dir;
    private final Path entry;
    /** False for a prepared tree (a cache entry or an artifact): its owner deletes it, not us. */
    private final boolean owned;

    private GuestTree(Path dir, Path entry) {
        this(dir, entry, true);
    }

    private GuestTree(Path dir, Path entry, boolean owned) {
        this.dir = dir;
        this.entry = entry;
        this.owned = owned;
    }

    /**
     * Writes a complete guest tree (harness, SDK, the project's sources under {@code app/}) into {@code dir}:
     * the Python runtime's prepared form of a program.
     */
    static void prepare(ProjectSources sources, Path entry, Path dir) throws IOException {
        if (!sources.contains(entry)) {
            throw new InvalidTaskException("Entry file " + entry + " is not a Python source file of the project");
        }
        writeHarness(dir);
        Path app = dir.resolve(APP);
        Files.createDirectories(app);
        sources.writeTo(app);
    }

    /** Uses a tree {@link #prepare} wrote, in place; it is never changed or deleted through this object. */
    static GuestTree prepared(Path dir, Path entry) {
        if (!Files.isRegularFile(dir.resolve(APP).resolve(entry.toString())) || !Files.isRegularFile(dir.resolve("guest.py"))) {
            throw new InvalidTaskException("Prepared program in " + dir + " has no " + entry);
        }
        return new GuestTree(dir, entry, false);
    }

    static GuestTree create(ProgramSource source) {
        Path dir;
        try {
            dir = Files.createTempDirectory("capsule-py-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        GuestTree tree = new GuestTree(dir, source.entry());
        try {
            writeHarness(dir);
            Path app = dir.resolve(APP);
            Files.createDirectories(app);
            if (source.projectFiles()) {
                ProjectSources.scan(source.projectRoot(), GuestTree::isSource).writeTo(app);
            }
            for (Map.Entry<Path, String> inline : source.inlineFiles().entrySet()) {
                Path target = app.resolve(inline.getKey().toString());
                Files.createDirectories(target.getParent());
                Files.writeString(target, inline.getValue());
            }
            if (!Files.isRegularFile(app.resolve(source.entry().toString()))) {
                throw new InvalidTaskException("Entry file " + source.entry() + " is not a Python source file of the project");
            }
            return tree;
        } catch (IOException e) {
            tree.close();
            throw new UncheckedIOException(e);
        } catch (RuntimeException e) {
            tree.close();
            throw e;
        }
    }

    /** A tree with only the harness and the SDK: what the warm-start snapshot is taken in. */
    static GuestTree harnessOnly() {
        try {
            Path dir = Files.createTempDirectory("capsule-py-");
            GuestTree tree = new GuestTree(dir, Path.of("guest.py"));
            writeHarness(dir);
            Files.createDirectories(dir.resolve(APP));
            return tree;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void writeHarness(Path dir) throws IOException {
        for (String name : HARNESS_FILES) {
            Path target = dir.resolve(name);
            Files.createDirectories(target.getParent());
            try (InputStream in = GuestTree.class.getResourceAsStream(RESOURCES + name)) {
                Files.copy(in, target);
            }
        }
    }

    /** The project files a Python program consists of. */
    static boolean isSource(Path relative) {
        return relative.getFileName().toString().endsWith(".py");
    }

    Path dir() {
        return dir;
    }

    /** The entry file as the guest sees it. */
    String guestEntry() {
        return GUEST_ROOT + "/" + APP + "/" + entry.toString().replace('\\', '/');
    }

    /**
     * The entry file's text, sent with each request so the guest need not open it; null when it is not
     * UTF-8 (the guest then reads the bytes itself and honours a coding declaration).
     */
    String entrySource() {
        try {
            byte[] bytes = Files.readAllBytes(dir.resolve(APP).resolve(entry.toString()));
            return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return null;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The compiled entry module a prepared tree holds, or null. */
    String compiledEntry() {
        Path file = dir.resolve(COMPILED_ENTRY);
        try {
            return Files.isRegularFile(file) ? Files.readString(file, StandardCharsets.US_ASCII) : null;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Adds the compiled entry module to a tree {@link #prepare} is writing. */
    static void writeCompiledEntry(Path dir, String code) throws IOException {
        Files.writeString(dir.resolve(COMPILED_ENTRY), code, StandardCharsets.US_ASCII);
    }

    String guestCwd() {
        return GUEST_ROOT + "/" + APP;
    }

    @Override
    public void close() {
        if (!owned) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // Best effort: a temp directory left behind is harmless.
        }
    }
}
