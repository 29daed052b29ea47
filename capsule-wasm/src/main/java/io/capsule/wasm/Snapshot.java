package io.capsule.wasm;

import com.dylibso.chicory.runtime.GlobalInstance;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.runtime.Memory;

/**
 * The state of a prepared instance (linear memory and globals), taken once before any task input is
 * seen and restored into every new instance instead of the module's data segments. A guest runtime
 * snapshots itself after its interpreter has started and imported its harness, so tasks skip that work.
 * Immutable: instances share its pages copy-on-write and never write to them.
 */
public final class Snapshot {
    /** The pages, in an array as long as the largest memory so instances can share it index-aligned. */
    private final byte[][] pages;
    private final int pageCount;
    private final long[] globalsLow;
    private final long[] globalsHigh;

    private Snapshot(byte[][] pages, int pageCount, long[] globalsLow, long[] globalsHigh) {
        this.pages = pages;
        this.pageCount = pageCount;
        this.globalsLow = globalsLow;
        this.globalsHigh = globalsHigh;
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
        return new Snapshot(memoryOnly.pages, memoryOnly.pageCount, low, high);
    }

    /** A snapshot of a memory alone (no globals). */
    static Snapshot ofMemory(Memory memory) {
        int count = memory.pages();
        byte[][] pages = new byte[Sandbox.MAX_PAGES][];
        for (int i = 0; i < count; i++) {
            pages[i] = memory.readBytes(i * Memory.PAGE_SIZE, Memory.PAGE_SIZE);
        }
        return new Snapshot(pages, count, new long[0], new long[0]);
    }

    public int pageCount() {
        return pageCount;
    }

    /** The pages for {@link CappedMemory} to share; never written. */
    byte[][] sharedPages() {
        return pages;
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
