package io.capsule.wasm.fuel;

import com.dylibso.chicory.wasm.ChicoryException;

/**
 * Thrown out of guest code at the checkpoint where its fuel budget ran out. It unwinds the guest like an
 * interrupt does (no guest code can catch it); the instance must be discarded.
 */
public final class FuelExhaustedException extends ChicoryException {
    private final long budget;

    public FuelExhaustedException(long budget) {
        super("fuel budget of " + budget + " units exhausted");
        this.budget = budget;
    }

    public long budget() {
        return budget;
    }
}
