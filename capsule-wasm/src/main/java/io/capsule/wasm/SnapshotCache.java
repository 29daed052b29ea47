package io.capsule.wasm;

import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.runtime.Machine;
import com.dylibso.chicory.wasm.Parser;
import com.dylibso.chicory.wasm.WasmModule;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.function.Function;
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
    /** Every section but custom (0) and data (11). */
    private static final int[] LEAN_SECTIONS = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13};

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

    /**
     * The warm image of a runtime: its module and its warm-start snapshot. With a valid cached snapshot
     * the module is parsed lean (no data segments, no custom sections, no validation: the snapshot
     * replaces the data, and the module is our own build artefact, not user input), which roughly
     * halves start-up; otherwise the module is parsed whole, the snapshot made with {@code create} and
     * saved for the next process.
     */
    public static WarmImage load(String name, String key, Supplier<InputStream> module,
            Function<Instance, Machine> machineFactory, Function<WasmTemplate, Snapshot> create) {
        Path file = directory().resolve("snapshots").resolve(name + "-" + key + ".snapshot");
        if (Files.isRegularFile(file)) {
            try {
                Snapshot snapshot = Snapshot.readFrom(file);
                return new WarmImage(new WasmTemplate(name, parse(module, true), machineFactory), snapshot);
            } catch (IOException | RuntimeException e) {
                LOG.warn("Rebuilding the {} warm-start snapshot: {}", name, e.getMessage());
            }
        }
        WasmTemplate template = new WasmTemplate(name, parse(module, false), machineFactory);
        LOG.info("Preparing the {} warm-start snapshot (first use; this takes a few seconds)...", name);
        long start = System.nanoTime();
        Snapshot snapshot = create.apply(template);
        try {
            snapshot.writeTo(file);
            LOG.info("Prepared the {} snapshot in {} ms ({})", name, (System.nanoTime() - start) / 1_000_000, file);
        } catch (IOException e) {
            LOG.warn("Could not save the {} snapshot to {}: {} (it is rebuilt in every process)", name, file, e.toString());
        }
        return new WarmImage(template, snapshot);
    }

    private static WasmModule parse(Supplier<InputStream> module, boolean lean) {
        Parser.Builder parser = Parser.builder();
        if (lean) {
            parser.withValidation(false);
            for (int section : LEAN_SECTIONS) {
                parser.includeSectionId(section);
            }
        }
        try (InputStream in = module.get()) {
            return parser.build().parse(() -> in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A module and the snapshot its instances start from. */
    public record WarmImage(WasmTemplate template, Snapshot snapshot) {}
}
