package io.capsule.wasm;

import com.dylibso.chicory.runtime.ConstantEvaluators;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.runtime.Memory;
import com.dylibso.chicory.runtime.WasmRuntimeException;
import com.dylibso.chicory.wasm.types.ActiveDataSegment;
import com.dylibso.chicory.wasm.types.DataSegment;
import com.dylibso.chicory.wasm.types.MemoryLimits;
import com.dylibso.chicory.wasm.types.PassiveDataSegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * The linear memory of one sandbox instance.
 *
 * <ul>
 *   <li><b>Cap that can be lowered.</b> An entry task declares its own {@code ram} only after its code is
 *       loaded. Growth past the cap fails the way wasm specifies ({@code memory.grow} returns -1, so
 *       {@code malloc} returns NULL) and is remembered ({@link #capHit()}), so the host can tell a real
 *       exhaustion from a guest that merely raised {@code MemoryError} itself.</li>
 *   <li><b>Copy-on-write start from a {@link Snapshot}.</b> A new instance shares the snapshot's pages and
 *       copies a page only when it first writes to it, so starting an instance costs no 30 MB copy.
 *       Snapshot pages are never written.</li>
 * </ul>
 *
 * Memory is held in 4 KiB chunks (16 per wasm page): a task typically writes to scattered places of
 * the snapshot (reference counts, allocator lists), and copying 4 KiB instead of 64 KiB per first write
 * cuts the copying per task by an order of magnitude. A chunk index past the current size holds null,
 * so an out-of-bounds access fails on the array access itself and is reported as a wasm trap.
 */
public final class CappedMemory implements Memory {
    static final int CHUNK_SHIFT = 12;
    static final int CHUNK = 1 << CHUNK_SHIFT;
    static final int CHUNKS_PER_PAGE = PAGE_SIZE / CHUNK;
    private static final int SHIFT = CHUNK_SHIFT;
    private static final int MASK = CHUNK - 1;
    private static final VarHandle SHORTS = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle INTS = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final byte[][] NO_SHARED_PAGES = new byte[Sandbox.MAX_PAGES * CHUNKS_PER_PAGE][];

    private final MemoryLimits limits;
    /** The chunks of the current memory (grown with it, so an instance costs no table as large as its cap). */
    private byte[][] pages;
    /** The snapshot's pages (index-aligned with {@link #pages}); a page still identical to its entry is shared. */
    private final byte[][] shared;
    private final Snapshot snapshot;
    private DataSegment[] dataSegments;
    private int nPages;
    private volatile int capPages;
    private volatile boolean capHit;

    public CappedMemory(MemoryLimits limits, int capPages) {
        this(limits, capPages, null);
    }

    /** A memory that starts as {@code snapshot} (shared copy-on-write) instead of the module's data segments. */
    CappedMemory(MemoryLimits limits, int capPages, Snapshot snapshot) {
        this.limits = limits;
        this.snapshot = snapshot;
        this.capPages = Math.min(Math.min(capPages, limits.maximumPages()), Sandbox.MAX_PAGES);
        int initial = snapshot == null ? limits.initialPages() : Math.max(limits.initialPages(), snapshot.pageCount());
        this.pages = new byte[initial * CHUNKS_PER_PAGE][];
        this.shared = snapshot == null ? NO_SHARED_PAGES : snapshot.sharedChunks();
        int from = snapshot == null ? 0 : snapshot.pageCount() * CHUNKS_PER_PAGE;
        System.arraycopy(shared, 0, pages, 0, from);
        for (int i = from; i < initial * CHUNKS_PER_PAGE; i++) {
            pages[i] = new byte[CHUNK];
        }
        this.nPages = initial;
    }

    public static int pagesFor(long bytes) {
        return (int) Math.min(Integer.MAX_VALUE, bytes / PAGE_SIZE);
    }

    /** Lowers the cap; returns false (and leaves it) when the memory already exceeds it. */
    public synchronized boolean lowerCap(int newCap) {
        if (newCap >= capPages) {
            return true;
        }
        if (nPages > newCap) {
            return false;
        }
        capPages = newCap;
        return true;
    }

    public int capPages() {
        return capPages;
    }

    /** Whether a growth was refused because of the cap. */
    public boolean capHit() {
        return capHit;
    }

    public long bytesUsed() {
        return (long) nPages * PAGE_SIZE;
    }

    @Override
    public synchronized int grow(int size) {
        int previous = nPages;
        long wanted = (long) previous + size;
        if (size < 0 || wanted > capPages) {
            capHit = true;
            return -1;
        }
        try {
            if (wanted * CHUNKS_PER_PAGE > pages.length) {
                // Doubling keeps repeated small growths cheap; never past the cap.
                long length = Math.min(capPages, Math.max(wanted, 2L * previous));
                pages = Arrays.copyOf(pages, (int) length * CHUNKS_PER_PAGE);
            }
            for (int i = previous * CHUNKS_PER_PAGE; i < wanted * CHUNKS_PER_PAGE; i++) {
                pages[i] = new byte[CHUNK];
            }
        } catch (OutOfMemoryError e) {
            // The JVM heap, not the cap, ran out: fail the growth, keep the host alive.
            Arrays.fill(pages, previous * CHUNKS_PER_PAGE, Math.min(pages.length, (int) wanted * CHUNKS_PER_PAGE), null);
            capHit = true;
            return -1;
        }
        nPages = (int) wanted;
        return previous;
    }

    /** The chunk for a write at {@code index}, copied out of the snapshot on first write. */
    private byte[] writable(int index) {
        byte[] page = pages[index];
        if (page == shared[index]) {
            page = own(index);
        }
        return page;
    }

    private byte[] own(int index) {
        if (index >= nPages * CHUNKS_PER_PAGE) {
            throw outOfBounds(index << SHIFT, 1);
        }
        byte[] copy = pages[index].clone();
        pages[index] = copy;
        return copy;
    }

    private static WasmRuntimeException outOfBounds(int addr, int size) {
        return new WasmRuntimeException("out of bounds memory access: attempted to access address: "
                + Integer.toUnsignedString(addr) + " and size: " + size);
    }

    private void checkBounds(int addr, int size) {
        if (addr < 0 || size < 0 || (long) addr + size > (long) nPages * PAGE_SIZE) {
            throw outOfBounds(addr, size);
        }
    }

    @Override
    public byte read(int addr) {
        try {
            return pages[addr >>> SHIFT][addr & MASK];
        } catch (NullPointerException | ArrayIndexOutOfBoundsException e) {
            throw outOfBounds(addr, 1);
        }
    }

    @Override
    public void writeByte(int addr, byte data) {
        try {
            writable(addr >>> SHIFT)[addr & MASK] = data;
        } catch (NullPointerException | ArrayIndexOutOfBoundsException e) {
            throw outOfBounds(addr, 1);
        }
    }

    @Override
    public short readShort(int addr) {
        int off = addr & MASK;
        if (off <= CHUNK - 2) {
            try {
                return (short) SHORTS.get(pages[addr >>> SHIFT], off);
            } catch (NullPointerException | ArrayIndexOutOfBoundsException e) {
                throw outOfBounds(addr, 2);
            }
        }
        return (short) ((read(addr) & 0xFF) | (read(addr + 1) << 8));
    }

    @Override
    public void writeShort(int addr, short data) {
        int off = addr & MASK;
        if (off <= CHUNK - 2) {
            try {
                SHORTS.set(writable(addr >>> SHIFT), off, data);
                return;
            } catch (NullPointerException | ArrayIndexOutOfBoundsException e) {
                throw outOfBounds(addr, 2);
            }
        }
        checkBounds(addr, 2);
        writeByte(addr, (byte) data);
        writeByte(addr + 1, (byte) (data >>> 8));
    }

    @Override
    public int readInt(int addr) {
        int off = addr & MASK;
        if (off <= CHUNK - 4) {
            try {
                return (int) INTS.get(pages[addr >>> SHIFT], off);
            } catch (NullPointerException | ArrayIndexOutOfBoundsException e) {
                throw outOfBounds(addr, 4);
            }
        }
        checkBounds(addr, 4);
        return (read(addr) & 0xFF) | (read(addr + 1) & 0xFF) << 8 | (read(addr + 2) & 0xFF) << 16
                | (read(addr + 3) & 0xFF) << 24;
    }

    @Override
    public void writeI32(int addr, int data) {
        int off = addr & MASK;
        if (off <= CHUNK - 4) {
            try {
                INTS.set(writable(addr >>> SHIFT), off, data);
                return;
            } catch (NullPointerException | ArrayIndexOutOfBoundsException e) {
                throw outOfBounds(addr, 4);
            }
        }
        checkBounds(addr, 4);
        for (int i = 0; i < 4; i++) {
            writeByte(addr + i, (byte) (data >>> (8 * i)));
        }
    }

    @Override
    public long readLong(int addr) {
        int off = addr & MASK;
        if (off <= CHUNK - 8) {
            try {
                return (long) LONGS.get(pages[addr >>> SHIFT], off);
            } catch (NullPointerException | ArrayIndexOutOfBoundsException e) {
                throw outOfBounds(addr, 8);
            }
        }
        checkBounds(addr, 8);
        return (readInt(addr) & 0xFFFFFFFFL) | ((long) readInt(addr + 4) << 32);
    }

    @Override
    public void writeLong(int addr, long data) {
        int off = addr & MASK;
        if (off <= CHUNK - 8) {
            try {
                LONGS.set(writable(addr >>> SHIFT), off, data);
                return;
            } catch (NullPointerException | ArrayIndexOutOfBoundsException e) {
                throw outOfBounds(addr, 8);
            }
        }
        checkBounds(addr, 8);
        writeI32(addr, (int) data);
        writeI32(addr + 4, (int) (data >>> 32));
    }

    @Override public long readU16(int addr) { return readShort(addr) & 0xFFFFL; }
    @Override public void writeF32(int addr, float data) { writeI32(addr, Float.floatToRawIntBits(data)); }
    @Override public long readF32(int addr) { return readInt(addr); }
    @Override public float readFloat(int addr) { return Float.intBitsToFloat(readInt(addr)); }
    @Override public void writeF64(int addr, double data) { writeLong(addr, Double.doubleToRawLongBits(data)); }
    @Override public double readDouble(int addr) { return Double.longBitsToDouble(readLong(addr)); }
    @Override public long readF64(int addr) { return readLong(addr); }

    @Override
    public void write(int addr, byte[] data, int offset, int size) {
        if (offset < 0 || size < 0 || (long) offset + size > data.length) {
            throw new WasmRuntimeException("out of bounds source range " + offset + "+" + size);
        }
        checkBounds(addr, size);
        while (size > 0) {
            int off = addr & MASK;
            int chunk = Math.min(size, CHUNK - off);
            System.arraycopy(data, offset, writable(addr >>> SHIFT), off, chunk);
            addr += chunk;
            offset += chunk;
            size -= chunk;
        }
    }

    @Override
    public byte[] readBytes(int addr, int len) {
        checkBounds(addr, len);
        byte[] out = new byte[len];
        int done = 0;
        while (done < len) {
            int a = addr + done;
            int off = a & MASK;
            int chunk = Math.min(len - done, CHUNK - off);
            System.arraycopy(pages[a >>> SHIFT], off, out, done, chunk);
            done += chunk;
        }
        return out;
    }

    @Override
    public void fill(byte value, int fromIndex, int toIndex) {
        int size = toIndex - fromIndex;
        checkBounds(fromIndex, size);
        int addr = fromIndex;
        while (size > 0) {
            int off = addr & MASK;
            int chunk = Math.min(size, CHUNK - off);
            Arrays.fill(writable(addr >>> SHIFT), off, off + chunk, value);
            addr += chunk;
            size -= chunk;
        }
    }

    @Override
    public void copy(int dest, int src, int size) {
        checkBounds(dest, size);
        checkBounds(src, size);
        if (size == 0) {
            return;
        }
        // Through a buffer: simple and correct for overlapping ranges and copy-on-write pages.
        write(dest, readBytes(src, size), 0, size);
    }

    @Override
    public void zero() {
        // A fresh memory is already zero, and a snapshot start must keep the snapshot's contents.
        if (snapshot == null) {
            for (int i = 0; i < nPages * CHUNKS_PER_PAGE; i++) {
                Arrays.fill(pages[i], (byte) 0);
            }
        }
    }

    @Override
    public void initialize(Instance instance, DataSegment[] segments) {
        initialize(instance, segments, 0);
    }

    @Override
    public void initialize(Instance instance, DataSegment[] segments, int memoryIndex) {
        this.dataSegments = segments == null ? new DataSegment[0] : segments.clone();
        for (int i = 0; i < dataSegments.length; i++) {
            if (!(dataSegments[i] instanceof ActiveDataSegment)) {
                continue;
            }
            ActiveDataSegment segment = (ActiveDataSegment) dataSegments[i];
            if (segment.index() == memoryIndex && snapshot == null) {
                int offset = (int) ConstantEvaluators.computeConstantValue(
                        instance, segment.offsetInstructions())[0];
                write(offset, segment.data(), 0, segment.data().length);
            }
            // Active segments are dropped once applied (and a snapshot already holds them).
            dataSegments[i] = PassiveDataSegment.EMPTY;
        }
    }

    @Override
    public void initPassiveSegment(int segmentId, int dest, int offset, int size) {
        write(dest, dataSegments[segmentId].data(), offset, size);
    }

    @Override
    public void drop(int segment) {
        dataSegments[segment] = PassiveDataSegment.EMPTY;
    }

    @Override public int pages() { return nPages; }
    @Override public int initialPages() { return limits.initialPages(); }
    @Override public int maximumPages() { return capPages; }
    @Override public boolean shared() { return false; }

    @SuppressWarnings("removal")
    @Override
    public Object lock(int address) {
        throw new UnsupportedOperationException("shared memory is not supported");
    }

    @SuppressWarnings("removal")
    @Override
    public int waitOn(int address, int expected, long timeout) {
        throw new WasmRuntimeException("Attempt to wait on a non-shared memory, not supported.");
    }

    @SuppressWarnings("removal")
    @Override
    public int waitOn(int address, long expected, long timeout) {
        throw new WasmRuntimeException("Attempt to wait on a non-shared memory, not supported.");
    }

    @SuppressWarnings("removal")
    @Override
    public int notify(int address, int maxThreads) {
        return 0;
    }
}
