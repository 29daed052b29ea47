package io.capsule.cli;

import io.capsule.core.Envelope;
import io.capsule.core.TaskError;
import io.capsule.core.TaskListener;
import java.io.PrintStream;

/** --verbose: one stderr line per lifecycle event of every task and sub-task. */
final class VerboseListener implements TaskListener {
    private final PrintStream err;

    VerboseListener(PrintStream err) {
        this.err = err;
    }

    @Override
    public void programLoaded(String program, boolean reused, long millis) {
        err.println("[capsule] " + program + (reused ? " loaded from its prepared form" : " prepared")
                + " in " + millis + " ms");
    }

    @Override
    public void started(String taskName, int attempt, int depth) {
        err.println("[capsule] " + "  ".repeat(depth) + "task " + taskName + " started"
                + (attempt > 0 ? " (attempt " + (attempt + 1) + ")" : ""));
    }

    @Override
    public void retrying(String taskName, int nextAttempt, TaskError reason) {
        err.println("[capsule] task " + taskName + " retrying (attempt " + (nextAttempt + 1) + ") after "
                + reason.type().wireName() + ": " + firstLine(reason.message()));
    }

    @Override
    public void finished(Envelope e, int depth) {
        var x = e.execution();
        err.println("[capsule] " + "  ".repeat(depth) + "task " + x.taskName() + " "
                + (e.success() ? "succeeded" : "failed (" + e.error().type().wireName() + ")")
                + " in " + x.durationMs() + " ms, retries " + x.retries()
                + ", fuel " + (x.fuelConsumed() == null ? "not metered" : x.fuelConsumed())
                + (x.ramUsed() == null ? "" : ", memory " + (x.ramUsed() >> 20) + " MB"));
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
