package io.capsule.core;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/** A submitted run: wait for its envelope, or cancel it. */
public final class TaskHandle {
    private final CompletableFuture<Envelope> envelope;
    private final Runnable canceller;

    TaskHandle(CompletableFuture<Envelope> envelope, Runnable canceller) {
        this.envelope = envelope;
        this.canceller = canceller;
    }

    /** Stops the run (all its tasks); its envelope then reports {@code execution.cancelled}. */
    public void cancel() {
        canceller.run();
    }

    public CompletableFuture<Envelope> future() {
        return envelope;
    }

    /** Waits for the envelope. Never throws for a task's failure: that is in the envelope. */
    public Envelope envelope() throws InterruptedException {
        try {
            return envelope.get();
        } catch (ExecutionException e) {
            throw new IllegalStateException("the run produced no envelope", e.getCause());
        }
    }
}
