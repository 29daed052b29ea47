package io.capsule.wasm;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps warm-start snapshots on disk so a new process does not rebuild them: one file per runtime and
 * key (a hash of everything the snapshot depends on). A file that fails its checksum is rebuilt, never
 * trusted. The directory is {@code $CAPSULE_CACHE_DIR}, else {@code ~/.cache/capsule}; snapshots do not
 * depend on any project, so every project shares them.
 */
public final class SnapshotCache {
    private static final Logger LOG = LoggerFactory.getLogger(SnapshotCache.class);

    private SnapshotCache() {}

    public static Path directory() {
        String configured = System.getenv("CAPSULE_CACHE_DIR");
        if (configured == null || configured.isBlank()) {
            configured = System.getProperty("capsule.cache.dir");
        }
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured);
        }
        return Path.of(System.getProperty("user.home"), ".cache", "capsule");
    }

    /** A stable key: SHA-256 of the inputs, hex. */
    public static String key(byte[]... inputs) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (byte[] input : inputs) {
                sha.update(Integer.toString(input.length).getBytes(StandardCharsets.US_ASCII));
                sha.update(input);
            }
            return HexFormat.of().formatHex(sha.digest(), 0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The cached snapshot for {@code name}/{@code key}, else a new one from {@code create}, saved for next time. */
    public static Snapshot load(String name, String key, Supplier<Snapshot> create) {
        Path file = directory().resolve("snapshots").resolve(name + "-" + key + ".snapshot");
        if (Files.isRegularFile(file)) {
            try {
                return Snapshot.readFrom(file);
            } catch (IOException | RuntimeException e) {
                LOG.warn("Rebuilding the {} warm-start snapshot: {}", name, e.getMessage());
            }
        }
        LOG.info("Preparing the {} warm-start snapshot (first use; this takes a few seconds)...", name);
        long start = System.nanoTime();
        Snapshot snapshot = create.get();
        try {
            snapshot.writeTo(file);
            LOG.info("Prepared the {} snapshot in {} ms ({})", name, (System.nanoTime() - start) / 1_000_000, file);
        } catch (IOException e) {
            LOG.warn("Could not save the {} snapshot to {}: {} (it is rebuilt in every process)", name, file, e.toString());
        }
        return snapshot;
    }
}
