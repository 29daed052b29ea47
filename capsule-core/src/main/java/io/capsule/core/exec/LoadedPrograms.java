package io.capsule.core.exec;

import io.capsule.core.spi.AttemptOutcome;
import io.capsule.core.spi.AttemptSpec;
import io.capsule.core.spi.HostBridge;
import io.capsule.core.spi.Program;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Programs kept loaded for identical requests (the same source string, run again and again by a service):
 * a repeat skips writing the program's files and whatever the runtime learns on a first run, such as the
 * compiled entry module. Runs share a loaded program, never an instance: each attempt still starts from
 * the runtime's snapshot. The least recently used program beyond the capacity is closed once no run
 * uses it any more.
 */
public final class LoadedPrograms implements AutoCloseable {
    private final int capacity;
    private final LinkedHashMap<String, Slot> slots = new LinkedHashMap<>(16, 0.75f, true);
    private boolean closed;

    private static final class Slot {
        final Program program;
        int users;
        boolean evicted;

        Slot(Program program) {
            this.program = program;
        }
    }

    public LoadedPrograms(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be at least 1, got " + capacity);
        }
        this.capacity = capacity;
    }

    /**
     * The program loaded under {@code key}, loading it with {@code loader} if none is; the caller closes
     * what it gets when its run ends (that releases it, the program stays loaded).
     */
    public Program acquire(String key, Supplier<Program> loader) {
        synchronized (this) {
            Slot slot = slots.get(key);
            if (slot != null) {
                return lease(slot);
            }
        }
        Program loaded = loader.get(); // outside the lock: loading takes a while
        List<Program> toClose = new ArrayList<>();
        Program lease;
        synchronized (this) {
            Slot slot = slots.get(key);
            if (slot != null) {
                toClose.add(loaded); // another run loaded it meanwhile
            } else {
                slot = new Slot(loaded);
                if (closed) {
                    slot.evicted = true; // closed with this run, not kept
                } else {
                    slots.put(key, slot);
                    evict(toClose);
                }
            }
            lease = lease(slot);
        }
        toClose.forEach(Program::close);
        return lease;
    }

    /** Programs loaded now (for tests). */
    synchronized int size() {
        return slots.size();
    }

    private Program lease(Slot slot) {
        slot.users++;
        return new Program() {
            private boolean released;

            @Override
            public AttemptOutcome runAttempt(AttemptSpec spec, HostBridge host) {
                return slot.program.runAttempt(spec, host);
            }

            @Override
            public void close() {
                boolean last;
                synchronized (LoadedPrograms.this) {
                    if (released) {
                        return;
                    }
                    released = true;
                    last = --slot.users == 0 && slot.evicted;
                }
                if (last) {
                    slot.program.close();
                }
            }
        };
    }

    private void evict(List<Program> toClose) {
        Iterator<Map.Entry<String, Slot>> it = slots.entrySet().iterator();
        while (slots.size() > capacity && it.hasNext()) {
            Slot old = it.next().getValue();
            it.remove();
            old.evicted = true;
            if (old.users == 0) {
                toClose.add(old.program);
            }
        }
    }

    /** Closes every program no run uses; the others close when their runs end. */
    @Override
    public void close() {
        List<Program> toClose = new ArrayList<>();
        synchronized (this) {
            closed = true;
            for (Slot slot : slots.values()) {
                slot.evicted = true;
                if (slot.users == 0) {
                    toClose.add(slot.program);
                }
            }
            slots.clear();
        }
        toClose.forEach(Program::close);
    }
}
