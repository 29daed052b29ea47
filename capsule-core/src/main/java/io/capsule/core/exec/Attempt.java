package io.capsule.core.exec;

import io.capsule.core.ErrorType;
import io.capsule.core.TaskError;
import io.capsule.core.options.Limits;
import io.capsule.core.options.Units;
import io.capsule.core.spi.AttemptOutcome;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One attempt of one task: the guest thread that runs it, its wall-clock deadline, and the single
 * outcome it ends with. The outcome is decided by whichever comes first: the guest returning, the
 * deadline, or a cancel; later events are ignored, so a result is never lost and never doubled.
 */
final class Attempt {
    /** How long a timed-out or cancelled guest gets to unwind before the host stops waiting for it. */
    private static final long UNWIND_GRACE_MS = 200;

    private final CompletableFuture<AttemptOutcome> outcome = new CompletableFuture<>();
    private final ScheduledExecutorService timers;
    private final long startNanos = System.nanoTime();
    private volatile Thread thread;
    private volatile TaskError forcedError;
    private volatile Limits limits;
    private ScheduledFuture<?> timer;

    Attempt(Limits limits, ScheduledExecutorService timers) {
        this.limits = limits;
        this.timers = timers;
    }

    Limits limits() {
        return limits;
    }

    /** Time left before the deadline, or null when there is none. */
    Duration remaining() {
        Duration timeout = limits.timeout();
        return timeout == null ? null : timeout.minusNanos(System.nanoTime() - startNanos);
    }

    CompletableFuture<AttemptOutcome> outcome() {
        return outcome;
    }

    /** Called on the guest thread before the guest starts; false if the attempt already ended. */
    boolean enter() {
        thread = Thread.currentThread();
        return !outcome.isDone();
    }

    void leave() {
        thread = null;
        Thread.interrupted();
    }

    /** Tightens the limits (never widens them) and arms the deadline once a timeout is known. */
    synchronized void applyLimits(Limits newLimits) {
        this.limits = newLimits;
        if (timer == null && newLimits.timeout() != null) {
            Duration timeout = newLimits.timeout();
            long remainingNanos = timeout.toNanos() - (System.nanoTime() - startNanos);
            String message = "Task exceeded " + Units.formatDuration(timeout) + " timeout limit";
            timer = timers.schedule(() -> stop(new TaskError(ErrorType.TIMEOUT, message)),
                    Math.max(0, remainingNanos), TimeUnit.NANOSECONDS);
        }
    }

    /** The guest finished (or failed) on its own. A deadline or cancel that came first wins. */
    void finish(AttemptOutcome result) {
        TaskError forced = forcedError;
        if (forced != null) {
            outcome.complete(new AttemptOutcome(null, forced, result.taskName(), result.ramUsed(), result.fuelConsumed()));
        } else {
            outcome.complete(result);
        }
        cancelTimer();
    }

    /** Ends the attempt with {@code error}: interrupts the guest and gives it a moment to report its usage. */
    void stop(TaskError error) {
        synchronized (this) {
            if (forcedError != null || outcome.isDone()) {
                return;
            }
            forcedError = error;
        }
        Thread t = thread;
        if (t != null) {
            t.interrupt();
            timers.schedule(() -> outcome.complete(new AttemptOutcome(null, error, null, null, null)),
                    UNWIND_GRACE_MS, TimeUnit.MILLISECONDS);
        } else {
            outcome.complete(new AttemptOutcome(null, error, null, null, null));
        }
        cancelTimer();
    }

    private synchronized void cancelTimer() {
        if (timer != null) {
            timer.cancel(false);
        }
    }
}
