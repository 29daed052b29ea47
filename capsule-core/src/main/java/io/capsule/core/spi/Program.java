package io.capsule.core.spi;

/** A loaded program: runs one task attempt at a time per call, each in a fresh sandbox instance. */
public interface Program extends AutoCloseable {
    /**
     * Runs one attempt on the calling thread, in a new instance, and returns how it ended. Must return
     * (or throw) promptly once the thread is interrupted.
     */
    AttemptOutcome runAttempt(AttemptSpec spec, HostBridge host);

    @Override
    void close();
}
