package io.capsule.cli;

import io.capsule.core.TaskListener;
import java.io.PrintStream;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Shows that first-time preparation is under way when it takes longer than a moment: once the engine
 * says a program has no prepared form yet, a line appears on stderr if loading has not finished a second
 * later (the first run on a machine also builds the runtime's warm-start snapshot). Silent otherwise.
 */
final class Progress implements TaskListener, AutoCloseable {
    private static final long QUIET_MS = 1000;

    private final PrintStream err;
    private final String label;
    private long start;
    private ScheduledExecutorService timer;
    private boolean shown;
    private boolean done;

    Progress(PrintStream err, String label) {
        this.err = err;
        this.label = label;
    }

    @Override
    public synchronized void preparing(String program) {
        if (done || timer != null) {
            return;
        }
        start = System.nanoTime();
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "capsule-progress");
            t.setDaemon(true);
            return t;
        });
        timer.scheduleAtFixedRate(this::tick, QUIET_MS, QUIET_MS, TimeUnit.MILLISECONDS);
    }

    private synchronized void tick() {
        if (done) {
            return;
        }
        long s = seconds();
        if (!shown) {
            err.print("capsule: preparing " + label + " (first run; later runs reuse it) ... " + s + "s");
            shown = true;
        } else {
            // Rewrites the seconds in place on a terminal; a log file gets the dots only.
            err.print(System.console() != null ? "\rcapsule: preparing " + label + " (first run; later runs reuse it) ... "
                    + s + "s" : ".");
        }
        err.flush();
    }

    private long seconds() {
        return (System.nanoTime() - start) / 1_000_000_000L;
    }

    @Override
    public synchronized void programLoaded(String program, boolean reused, long millis) {
        stop();
    }

    private synchronized void stop() {
        if (done) {
            return;
        }
        done = true;
        if (timer != null) {
            timer.shutdownNow();
        }
        if (shown) {
            err.println(" done (" + (System.nanoTime() - start) / 1_000_000 + " ms)");
        }
    }

    @Override
    public void close() {
        stop();
    }
}
