package io.capsule.wasm.fuel;

import io.capsule.core.exec.GuestThread;

/**
 * The fuel budget of one sandbox instance. Compiled guest code calls {@link #checkpoint()} before every
 * wasm call and at every taken loop back-edge (see {@link MeteredMachines}); each checkpoint reached by a thread
 * that has this meter {@linkplain #enter() entered} costs {@code fuelPerCheckpoint} fuel units. Counting
 * checkpoints of the guest's own control flow, never time, makes the count the same on every run of the
 * same code with the same input, whatever else the machine is doing.
 *
 * <p>A meter is confined to the thread that runs its guest: it is charged, lowered and read there.
 */
public final class FuelMeter {
    /** The meter of threads other than the engine's guest threads (which keep theirs in a field: faster). */
    private static final ThreadLocal<FuelMeter> CURRENT = new ThreadLocal<>();

    private final double fuelPerCheckpoint;
    private long budget;
    private long checkpoints;
    /** The checkpoints the budget pays for; one more exhausts it. */
    private long allowed;

    /**
     * @param budget fuel units the guest may consume, at least 1
     * @param fuelPerCheckpoint fuel units one checkpoint stands for (the runtime's calibrated rate)
     */
    public FuelMeter(long budget, double fuelPerCheckpoint) {
        if (!(fuelPerCheckpoint > 0)) {
            throw new IllegalArgumentException("fuel per checkpoint must be positive, got " + fuelPerCheckpoint);
        }
        this.fuelPerCheckpoint = fuelPerCheckpoint;
        setBudget(budget);
    }

    /**
     * Called by metered compiled code at each checkpoint. Charges the meter the current thread entered,
     * if any; throws {@link FuelExhaustedException} once the budget is spent (and at every checkpoint
     * after that, so guest code cannot go on).
     */
    public static void checkpoint() {
        FuelMeter meter = Thread.currentThread() instanceof GuestThread g ? (FuelMeter) g.fuelMeter : CURRENT.get();
        if (meter != null && ++meter.checkpoints > meter.allowed) {
            throw new FuelExhaustedException(meter.budget);
        }
    }

    /**
     * Charges this meter for the guest code the current thread runs until the returned scope is closed.
     * Scopes nest: closing one restores the meter that was current before.
     */
    public Scope enter() {
        if (Thread.currentThread() instanceof GuestThread g) {
            FuelMeter previous = (FuelMeter) g.fuelMeter;
            g.fuelMeter = this;
            return () -> g.fuelMeter = previous;
        }
        FuelMeter previous = CURRENT.get();
        CURRENT.set(this);
        // Restored with set, never remove: a thread keeps its entry, so the checkpoints it reaches outside a
        // scope find it at once instead of creating it again (ThreadLocal.get on a missing entry inserts one).
        return () -> CURRENT.set(previous);
    }

    /** Lowers the budget (never raises it): a task's own options can only tighten its start limits. */
    public void lowerBudget(long newBudget) {
        if (newBudget < budget) {
            setBudget(newBudget);
        }
    }

    public long budget() {
        return budget;
    }

    /** Fuel consumed so far; at most the budget (the checkpoint that crossed it was not run). */
    public long consumed() {
        return Math.min(budget, Math.round(checkpoints * fuelPerCheckpoint));
    }

    /** Checkpoints reached so far: the raw count behind {@link #consumed()}. */
    public long checkpoints() {
        return checkpoints;
    }

    public boolean exhausted() {
        return checkpoints > allowed;
    }

    private void setBudget(long newBudget) {
        if (newBudget < 1) {
            throw new IllegalArgumentException("fuel budget must be positive, got " + newBudget);
        }
        this.budget = newBudget;
        this.allowed = (long) Math.floor(newBudget / fuelPerCheckpoint);
    }

    /** The span during which a thread charges a meter. */
    public interface Scope extends AutoCloseable {
        @Override
        void close();
    }
}
