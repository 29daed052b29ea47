package io.capsule.wasm;

import com.dylibso.chicory.runtime.GlobalInstance;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.runtime.Memory;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.zip.CRC32;
import java.util.zip.CheckedInputStream;
import java.util.zip.CheckedOutputStream;

/**
 * The state of a prepared instance (linear memory and globals), taken once before any task input is
 * seen and restored into every new instance instead of the module's data segments. A guest runtime
 * snapshots itself after its interpreter has started and imported its harness, so tasks skip that work.
 * Immutable: instances share its pages copy-on-write and never write to them.
 */
public final class Snapshot {
    private static final long MAGIC = 0x43415053554C0001L; // "CAPSUL", format 1

    /**
     * The memory in {@link CappedMemory}'s chunks, in an array as long as the largest memory so instances
     * can share it index-aligned; all-zero chunks are one shared array.
     */
    private final byte[][] chunks;
    private final int pageCount;
    private final long[] globalsLow;
    private final long[] globalsHigh;

    private Snapshot(byte[][] chunks, int pageCount, long[] globalsLow, long[] globalsHigh) {
        this.chunks = chunks;
        this.pageCount = pageCount;
        this.globalsLow = globalsLow;
        this.globalsHigh = globalsHigh;
    }

    /** Collects chunks of memory, sharing one array for all the all-zero ones. */
    private static final class Chunker {
        private final byte[] zero = new byte[CappedMemory.CHUNK];
        final byte[][] chunks = new byte[Sandbox.MAX_PAGES * CappedMemory.CHUNKS_PER_PAGE][];

        /** Sets the chunks of page {@code page} from {@code bytes} at {@code offset} (null: a zero page). */
        void page(int page, byte[] bytes, int offset) {
            for (int c = 0; c < CappedMemory.CHUNKS_PER_PAGE; c++) {
                int from = offset + c * CappedMemory.CHUNK;
                byte[] chunk = bytes == null ? zero : Arrays.copyOfRange(bytes, from, from + CappedMemory.CHUNK);
                chunks[page * CappedMemory.CHUNKS_PER_PAGE + c] = isZero(chunk) ? zero : chunk;
            }
        }

        /** Reads page {@code page}'s chunks from {@code in}. */
        void read(int page, DataInputStream in) throws IOException {
            for (int c = 0; c < CappedMemory.CHUNKS_PER_PAGE; c++) {
                byte[] chunk = new byte[CappedMemory.CHUNK];
                in.readFully(chunk);
                chunks[page * CappedMemory.CHUNKS_PER_PAGE + c] = isZero(chunk) ? zero : chunk;
            }
        }
    }

    /** Copies the sandbox's current memory and globals. Call it only between guest calls. */
    public static Snapshot take(Sandbox sandbox) {
        Instance instance = sandbox.instance();
        int globals = instance.globalCount();
        long[] low = new long[globals];
        long[] high = new long[globals];
        for (int i = 0; i < globals; i++) {
            GlobalInstance g = instance.global(i);
            low[i] = g.getValueLow();
            high[i] = g.getValueHigh();
        }
        Snapshot memoryOnly = ofMemory(sandbox.memory());
        return new Snapshot(memoryOnly.chunks, memoryOnly.pageCount, low, high);
    }

    /** A snapshot of a memory alone (no globals). */
    static Snapshot ofMemory(Memory memory) {
        int count = memory.pages();
        Chunker chunker = new Chunker();
        for (int i = 0; i < count; i++) {
            chunker.page(i, memory.readBytes(i * Memory.PAGE_SIZE, Memory.PAGE_SIZE), 0);
        }
        return new Snapshot(chunker.chunks, count, new long[0], new long[0]);
    }

    /**
     * Writes the snapshot to {@code file} atomically (temp file + rename): format version, page count,
     * globals, then each page (all-zero pages as one byte), then a CRC32 of everything before it.
     */
    public void writeTo(Path file) throws IOException {
        Files.createDirectories(file.getParent());
        Path tmp = Files.createTempFile(file.getParent(), file.getFileName().toString(), ".tmp");
        try {
            CRC32 crc = new CRC32();
            try (DataOutputStream out = new DataOutputStream(new CheckedOutputStream(
                    new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16), crc))) {
                out.writeLong(MAGIC);
                out.writeInt(pageCount);
                out.writeInt(globalsLow.length);
                for (int i = 0; i < globalsLow.length; i++) {
                    out.writeLong(globalsLow[i]);
                    out.writeLong(globalsHigh[i]);
                }
                for (int i = 0; i < pageCount; i++) {
                    int first = i * CappedMemory.CHUNKS_PER_PAGE;
                    boolean zero = true;
                    for (int c = first; c < first + CappedMemory.CHUNKS_PER_PAGE; c++) {
                        zero &= isZero(chunks[c]);
                    }
                    out.writeBoolean(zero);
                    if (!zero) {
                        for (int c = first; c < first + CappedMemory.CHUNKS_PER_PAGE; c++) {
                            out.write(chunks[c]);
                        }
                    }
                }
                out.writeLong(crc.getValue());
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Reads a snapshot written by {@link #writeTo}; any damage (truncation, bit flips) is an IOException.
     * The file is streamed straight into the snapshot's chunks (a first copy of tens of megabytes would
     * double what a cold start allocates) and its checksum verified before the snapshot is returned.
     */
    public static Snapshot readFrom(Path file) throws IOException {
        CRC32 crc = new CRC32();
        try (DataInputStream in = new DataInputStream(new CheckedInputStream(
                new BufferedInputStream(Files.newInputStream(file), 1 << 16), crc))) {
            if (in.readLong() != MAGIC) {
                throw new IOException("not a capsule snapshot (or an older format): " + file);
            }
            int count = in.readInt();
            int globals = in.readInt();
            if (count < 0 || count > Sandbox.MAX_PAGES || globals < 0 || globals > 1 << 16) {
                throw new IOException("corrupt snapshot header: " + file);
            }
            long[] low = new long[globals];
            long[] high = new long[globals];
            for (int i = 0; i < globals; i++) {
                low[i] = in.readLong();
                high[i] = in.readLong();
            }
            Chunker chunker = new Chunker();
            for (int i = 0; i < count; i++) {
                if (in.readBoolean()) {
                    chunker.page(i, null, 0);
                } else {
                    chunker.read(i, in);
                }
            }
            long computed = crc.getValue();
            if (in.readLong() != computed || in.read() != -1) {
                throw new IOException("snapshot checksum mismatch: " + file);
            }
            return new Snapshot(chunker.chunks, count, low, high);
        } catch (EOFException e) {
            throw new IOException("truncated snapshot: " + file, e);
        }
    }

    private static final byte[] ZERO_CHUNK = new byte[CappedMemory.CHUNK];

    /** Whether a chunk is all zero. Arrays.equals compares words, not bytes: it runs over tens of megabytes in a cold JVM. */
    private static boolean isZero(byte[] chunk) {
        return Arrays.equals(chunk, ZERO_CHUNK);
    }

    public int pageCount() {
        return pageCount;
    }

    /** The chunks for {@link CappedMemory} to share; never written. */
    byte[][] sharedChunks() {
        return chunks;
    }

    void restoreGlobals(Instance instance) {
        for (int i = 0; i < globalsLow.length; i++) {
            GlobalInstance g = instance.global(i);
            if (g.getValueLow() != globalsLow[i] || g.getValueHigh() != globalsHigh[i]) {
                g.setValueLow(globalsLow[i]);
                g.setValueHigh(globalsHigh[i]);
            }
        }
    }
}
