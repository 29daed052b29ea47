package io.capsule.wasm;

import com.dylibso.chicory.runtime.ByteArrayMemory;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.runtime.Memory;
import com.dylibso.chicory.wasm.types.DataSegment;
import com.dylibso.chicory.wasm.types.MemoryLimits;

/**
 * A linear memory whose cap can be lowered while the instance runs: an entry task declares its own
 * {@code ram} only after its code is loaded. Growth past the cap fails the way wasm specifies
 * ({@code memory.grow} returns -1, so {@code malloc} returns NULL) and is remembered, so the host can
 * tell a real exhaustion from a guest that merely raised {@code MemoryError} itself.
 */
public final class CappedMemory implements Memory {
    private final ByteArrayMemory delegate;
    private volatile int capPages;
    private volatile boolean capHit;

    public CappedMemory(MemoryLimits limits, int capPages) {
        this.delegate = new ByteArrayMemory(limits);
        this.capPages = Math.min(capPages, limits.maximumPages());
    }

    public static int pagesFor(long bytes) {
        return (int) Math.min(Integer.MAX_VALUE, bytes / PAGE_SIZE);
    }

    /** Lowers the cap; returns false (and leaves it) when the memory already exceeds it. */
    public boolean lowerCap(int pages) {
        if (pages >= capPages) {
            return true;
        }
        if (delegate.pages() > pages) {
            return false;
        }
        capPages = pages;
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
        return (long) delegate.pages() * PAGE_SIZE;
    }

    @Override
    public int grow(int size) {
        if (size > 0 && (long) delegate.pages() + size > capPages) {
            capHit = true;
            return -1;
        }
        try {
            return delegate.grow(size);
        } catch (OutOfMemoryError e) {
            // The JVM heap, not the cap, ran out: fail the growth, keep the host alive.
            capHit = true;
            return -1;
        }
    }

    @Override public int pages() { return delegate.pages(); }
    @Override public int initialPages() { return delegate.initialPages(); }
    @Override public int maximumPages() { return capPages; }
    @Override public boolean shared() { return delegate.shared(); }
    @SuppressWarnings("removal") @Override public Object lock(int address) { return delegate.lock(address); }
    @SuppressWarnings("removal") @Override public int waitOn(int a, int e, long t) { return delegate.waitOn(a, e, t); }
    @SuppressWarnings("removal") @Override public int waitOn(int a, long e, long t) { return delegate.waitOn(a, e, t); }
    @SuppressWarnings("removal") @Override public int notify(int a, int n) { return delegate.notify(a, n); }
    @Override public void initialize(Instance i, DataSegment[] s) { delegate.initialize(i, s); }
    @Override public void initialize(Instance i, DataSegment[] s, int m) { delegate.initialize(i, s, m); }
    @Override public void initPassiveSegment(int s, int d, int o, int n) { delegate.initPassiveSegment(s, d, o, n); }
    @Override public void write(int addr, byte[] data, int offset, int size) { delegate.write(addr, data, offset, size); }
    @Override public byte read(int addr) { return delegate.read(addr); }
    @Override public byte[] readBytes(int addr, int len) { return delegate.readBytes(addr, len); }
    @Override public void writeI32(int addr, int data) { delegate.writeI32(addr, data); }
    @Override public int readInt(int addr) { return delegate.readInt(addr); }
    @Override public void writeLong(int addr, long data) { delegate.writeLong(addr, data); }
    @Override public long readLong(int addr) { return delegate.readLong(addr); }
    @Override public void writeShort(int addr, short data) { delegate.writeShort(addr, data); }
    @Override public short readShort(int addr) { return delegate.readShort(addr); }
    @Override public long readU16(int addr) { return delegate.readU16(addr); }
    @Override public void writeByte(int addr, byte data) { delegate.writeByte(addr, data); }
    @Override public void writeF32(int addr, float data) { delegate.writeF32(addr, data); }
    @Override public long readF32(int addr) { return delegate.readF32(addr); }
    @Override public float readFloat(int addr) { return delegate.readFloat(addr); }
    @Override public void writeF64(int addr, double data) { delegate.writeF64(addr, data); }
    @Override public double readDouble(int addr) { return delegate.readDouble(addr); }
    @Override public long readF64(int addr) { return delegate.readF64(addr); }
    @Override public void zero() { delegate.zero(); }
    @Override public void fill(byte value, int from, int to) { delegate.fill(value, from, to); }
    @Override public void copy(int dest, int src, int size) { delegate.copy(dest, src, size); }
    @Override public void drop(int segment) { delegate.drop(segment); }
}
