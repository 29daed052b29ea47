package io.capsule.core.project;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The project's {@code .capsule/cache/}: what runtimes prepare from a project's sources (a guest tree,
 * transpiled bundles, compiled code), stored under a key that covers every source file's content and
 * the runtime's prepared format, so any edit yields a new entry. Each entry has a manifest with the
 * SHA-256 of every file it holds and is checked completely on every use: an entry that is incomplete,
 * altered or has extra files is deleted and rebuilt, never trusted. Entries are built in a private
 * directory and published with an atomic rename, so concurrent runs (and processes) never see half an
 * entry. The {@value #KEEP_ENTRIES} most recently used entries per kind are kept.
 */
public final class ProjectCache {
    /** The per-project directory (cache, artifacts, trace.db). */
    public static final String DIR = ".capsule";
    public static final String MANIFEST = "manifest.json";
    public static final String FILES = "files";
    static final int KEEP_ENTRIES = 4;
    private static final Logger LOG = LoggerFactory.getLogger(ProjectCache.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private static final AtomicLong PREPARED = new AtomicLong();
    private static final AtomicLong REUSED = new AtomicLong();
    private static final AtomicLong DISCARDED = new AtomicLong();

    /** Counts since this JVM started, for diagnostics and tests: entries built, reused, and found bad. */
    public record Stats(long prepared, long reused, long discarded) {}

    /** A usable entry: {@code dir} holds the prepared files; {@code reused} is false when it was just built. */
    public record Entry(Path dir, String key, boolean reused) {}

    /** Writes a new entry's files into an empty directory. */
    @FunctionalInterface
    public interface Preparer {
        void prepare(Path dir) throws IOException;
    }

    private final Path root;

    private ProjectCache(Path root) {
        this.root = root;
    }

    /** The cache of the project in {@code projectRoot}. */
    public static ProjectCache of(Path projectRoot) {
        return new ProjectCache(projectRoot.resolve(DIR).resolve("cache"));
    }

    public static Stats stats() {
        return new Stats(PREPARED.get(), REUSED.get(), DISCARDED.get());
    }

    public Path root() {
        return root;
    }

    /** The entry of {@code kind} for {@code key}: reused when it exists and checks out, else built now. */
    public Entry getOrBuild(String kind, String key, Preparer preparer) throws IOException {
        return getOrBuild(kind, key, preparer, files -> true);
    }

    /**
     * As {@link #getOrBuild(String, String, Preparer)}, also rebuilding an intact entry whose files
     * {@code current} rejects (it depends on files the key does not cover, and they changed).
     */
    public Entry getOrBuild(String kind, String key, Preparer preparer, java.util.function.Predicate<Path> current)
            throws IOException {
        if (!key.matches("[0-9a-f]{16,128}") || !kind.matches("[a-z0-9-]{1,40}")) {
            throw new IllegalArgumentException("bad cache kind or key: " + kind + "/" + key);
        }
        Path kindDir = root.resolve(kind);
        Path entry = kindDir.resolve(key);
        if (Files.isDirectory(entry)) {
            String problem = check(entry, key);
            if (problem == null && !current.test(entry.resolve(FILES))) {
                problem = "files it was prepared from outside the project's sources have changed";
            }
            if (problem == null) {
                touch(entry);
                REUSED.incrementAndGet();
                return new Entry(entry.resolve(FILES), key, true);
            }
            LOG.warn("cache entry {} is unusable ({}); rebuilding it", entry, problem);
            DISCARDED.incrementAndGet();
            discard(entry);
        }
        Files.createDirectories(kindDir);
        Path staging = kindDir.resolve(".tmp-" + UUID.randomUUID());
        try {
            Path files = staging.resolve(FILES);
            Files.createDirectories(files);
            preparer.prepare(files);
            writeManifest(staging, key);
            try {
                Files.move(staging, entry, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                if (!Files.isDirectory(entry)) {
                    throw e;
                }
                // Another run published the same entry first: use it if it checks out.
                if (check(entry, key) != null) {
                    throw new IOException("cache entry " + entry + " is being rebuilt by another run; try again", e);
                }
                REUSED.incrementAndGet();
                return new Entry(entry.resolve(FILES), key, true);
            }
        } finally {
            deleteTree(staging);
        }
        PREPARED.incrementAndGet();
        prune(kindDir);
        return new Entry(entry.resolve(FILES), key, false);
    }

    /** Null when the entry matches its manifest exactly, else what is wrong. */
    static String check(Path entry, String key) {
        JsonNode manifest;
        try {
            manifest = JSON.readTree(entry.resolve(MANIFEST).toFile());
        } catch (IOException e) {
            return "manifest unreadable: " + e.getMessage();
        }
        if (manifest == null || !key.equals(manifest.path("key").asText())) {
            return "manifest does not match the key";
        }
        Map<String, String> expected = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = manifest.path("files").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            expected.put(f.getKey(), f.getValue().asText());
        }
        try {
            Map<String, String> actual = checksums(entry.resolve(FILES));
            if (!actual.equals(expected)) {
                for (String name : expected.keySet()) {
                    if (!actual.containsKey(name)) {
                        return "file " + name + " is missing";
                    }
                    if (!actual.get(name).equals(expected.get(name))) {
                        return "file " + name + " has changed";
                    }
                }
                return "unexpected files " + actual.keySet().stream().filter(n -> !expected.containsKey(n)).toList();
            }
        } catch (IOException e) {
            return "unreadable: " + e.getMessage();
        }
        return null;
    }

    /** SHA-256 of every regular file under {@code dir}, by relative path with '/' separators. */
    public static Map<String, String> checksums(Path dir) throws IOException {
        Map<String, String> out = new TreeMap<>();
        if (!Files.isDirectory(dir)) {
            throw new IOException(dir + " is missing");
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) walk::iterator) {
                if (Files.isSymbolicLink(p)) {
                    throw new IOException("symbolic link " + p + " in a prepared tree");
                }
                if (Files.isRegularFile(p)) {
                    out.put(dir.relativize(p).toString().replace('\\', '/'), sha256(p));
                }
            }
        }
        return out;
    }

    static String sha256(Path file) throws IOException {
        MessageDigest sha = ProjectSources.sha256();
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), sha)) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    private static void writeManifest(Path staging, String key) throws IOException {
        ObjectNode manifest = JSON.createObjectNode();
        manifest.put("key", key);
        manifest.put("created_ms", System.currentTimeMillis());
        ObjectNode files = manifest.putObject("files");
        checksums(staging.resolve(FILES)).forEach(files::put);
        Files.writeString(staging.resolve(MANIFEST), manifest.toString());
    }

    private static void touch(Path entry) {
        try {
            Files.setLastModifiedTime(entry.resolve(MANIFEST), FileTime.fromMillis(System.currentTimeMillis()));
        } catch (IOException e) {
            // Only affects which entries pruning keeps.
        }
    }

    /** Moves a bad entry out of the way first, so no other run picks it up while it is deleted. */
    private static void discard(Path entry) throws IOException {
        Path trash = entry.resolveSibling(".trash-" + UUID.randomUUID());
        try {
            Files.move(entry, trash, StandardCopyOption.ATOMIC_MOVE);
        } catch (java.nio.file.NoSuchFileException e) {
            return;
        }
        deleteTree(trash);
    }

    private static void prune(Path kindDir) {
        try (Stream<Path> entries = Files.list(kindDir)) {
            List<Path> old = entries
                    .filter(p -> !p.getFileName().toString().startsWith("."))
                    .sorted(Comparator.comparingLong(ProjectCache::lastUse).reversed())
                    .skip(KEEP_ENTRIES)
                    .toList();
            for (Path p : old) {
                discard(p);
            }
        } catch (IOException e) {
            LOG.warn("could not prune the cache in {}: {}", kindDir, e.getMessage());
        }
    }

    private static long lastUse(Path entry) {
        try {
            return Files.getLastModifiedTime(entry.resolve(MANIFEST)).toMillis();
        } catch (IOException e) {
            return 0;
        }
    }

    public static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // Best effort: a leftover directory is ignored by every reader.
        }
    }
}
