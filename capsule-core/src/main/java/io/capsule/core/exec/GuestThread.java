package io.capsule.core.exec;

/**
 * A thread the engine runs guest code on. It carries the state the wasm layer needs at every fuel
 * checkpoint (hundreds of millions a second), so that a field read replaces a {@code ThreadLocal} lookup.
 */
public final class GuestThread extends Thread {
    /** The fuel meter of the instance running on this thread (capsule-wasm's FuelMeter), or null. */
    public Object fuelMeter;

    public GuestThread(Runnable task, String name, long stackBytes) {
        super(null, task, name, stackBytes);
    }
}
