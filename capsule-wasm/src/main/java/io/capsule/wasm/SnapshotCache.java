package io.capsule.wasm;

import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.runtime.Machine;
import com.dylibso.chicory.wasm.Parser;
import com.dylibso.chicory.wasm.WasmModule;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.zip.CRC32;
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

    /**
     * The warm image of a runtime: its module and its warm-start snapshot. With a valid cached snapshot
     * the module is read lean (see {@link #leanModule}); otherwise the module is parsed whole, the
     * snapshot made with {@code create} and saved, with the lean module, for the next process.
     */
    public static WarmImage load(String name, String key, Supplier<InputStream> module,
            Function<Instance, Machine> machineFactory, Function<WasmTemplate, Snapshot> create) {
        Path dir = directory().resolve("snapshots");
        Path file = dir.resolve(name + "-" + key + ".snapshot");
        Path leanFile = dir.resolve(name + "-" + key + ".module");
        if (Files.isRegularFile(file)) {
            // Reading the snapshot and parsing the module take about as long each in a cold JVM and do not
            // depend on each other: the module is parsed on a second thread meanwhile.
            FutureTask<WasmModule> lean = new FutureTask<>(() -> leanModule(module, leanFile));
            Thread parser = new Thread(lean, "capsule-module-" + name);
            parser.setDaemon(true);
            parser.start();
            try {
                Snapshot snapshot = Snapshot.readFrom(file);
                return new WarmImage(new WasmTemplate(name, joined(lean), machineFactory), snapshot);
            } catch (IOException | RuntimeException e) {
                LOG.warn("Rebuilding the {} warm-start snapshot: {}", name, e.getMessage());
            }
        }
        byte[] whole = readModule(module);
        WasmTemplate template = new WasmTemplate(name, Parser.parse(whole), machineFactory);
        LOG.info("Preparing the {} warm-start snapshot (first use; this takes a few seconds)...", name);
        long start = System.nanoTime();
        Snapshot snapshot = create.apply(template);
        try {
            writeChecked(leanFile, LeanModule.strip(whole));
            snapshot.writeTo(file);
            LOG.info("Prepared the {} snapshot in {} ms ({})", name, (System.nanoTime() - start) / 1_000_000, file);
        } catch (IOException e) {
            LOG.warn("Could not save the {} snapshot to {}: {} (it is rebuilt in every process)", name, file, e.toString());
        }
        return new WarmImage(template, snapshot);
    }

    /**
     * The module without its data and custom sections, which a snapshot replaces. Read from its own small
     * file when present and intact (the packaged module is tens of megabytes, compressed in a jar: reading
     * it was the largest part of a cold start), else stripped from the packaged module and saved. The
     * module is our own build artefact, not user input, so it is not validated again.
     */
    private static WasmModule leanModule(Supplier<InputStream> module, Path leanFile) throws IOException {
        byte[] lean = readChecked(leanFile);
        if (lean == null) {
            lean = LeanModule.strip(readModule(module));
            writeChecked(leanFile, lean);
        }
        byte[] bytes = lean;
        return Parser.builder().withValidation(false).build().parse(() -> new ByteArrayInputStream(bytes));
    }

    /**
     * The parsed lean module; its failure as thrown by {@link #leanModule}. Waits through interrupts (the
     * parse is short) rather than give up a valid snapshot for a rebuild.
     */
    private static WasmModule joined(FutureTask<WasmModule> lean) throws IOException {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return lean.get();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(e.getCause());
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static byte[] readModule(Supplier<InputStream> module) {
        try (InputStream in = module.get()) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The bytes of a file written by {@link #writeChecked}, or null when it is missing or damaged. */
    private static byte[] readChecked(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        byte[] all = Files.readAllBytes(file);
        if (all.length < Long.BYTES) {
            return null;
        }
        CRC32 crc = new CRC32();
        crc.update(all, 0, all.length - Long.BYTES);
        if (ByteBuffer.wrap(all, all.length - Long.BYTES, Long.BYTES).getLong() != crc.getValue()) {
            LOG.warn("Ignoring damaged cache file {}", file);
            return null;
        }
        return Arrays.copyOf(all, all.length - Long.BYTES);
    }

    /** Writes bytes and their CRC32 to a temporary file, then renames it into place. */
    private static void writeChecked(Path file, byte[] bytes) throws IOException {
        Files.createDirectories(file.getParent());
        CRC32 crc = new CRC32();
        crc.update(bytes);
        Path tmp = Files.createTempFile(file.getParent(), file.getFileName().toString(), ".tmp");
        try {
            Files.write(tmp, bytes);
            Files.write(tmp, ByteBuffer.allocate(Long.BYTES).putLong(crc.getValue()).array(), StandardOpenOption.APPEND);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** A module and the snapshot its instances start from. */
    public record WarmImage(WasmTemplate template, Snapshot snapshot) {}
}
