package io.capsule.core;

/** Lifecycle events of every task and sub-task of a run (the CLI's --verbose prints them). */
public interface TaskListener {
    TaskListener NONE = new TaskListener() {};

    /** An attempt starts; {@code attempt} counts from 0, {@code depth} is 0 for the entry task. */
    default void started(String taskName, int attempt, int depth) {}

    /** A failed attempt will be retried. */
    default void retrying(String taskName, int nextAttempt, TaskError reason) {}

    /** The task (all its attempts) finished. */
    default void finished(Envelope envelope, int depth) {}

    /** An attempt was set up and waits for its sandbox thread (trace state "created"). */
    default void attemptCreated(TaskAttempt attempt) {}

    /** The attempt's guest code starts running. */
    default void attemptRunning(TaskAttempt attempt) {}

    /**
     * The attempt ended: {@code error} is null on success; {@code fuelConsumed} and {@code ramUsed} are
     * null when unknown.
     */
    default void attemptFinished(TaskAttempt attempt, TaskError error, Long fuelConsumed, Long ramUsed) {}

    /** The program has no usable prepared form yet: it is being prepared now (first run, or sources changed). */
    default void preparing(String program) {}

    /**
     * The program was loaded, before its first attempt: {@code reused} is true when a prepared form from
     * the project's cache was used, false when it was prepared now (or cannot be cached).
     */
    default void programLoaded(String program, boolean reused, long millis) {}

    /** Sends every event to each of {@code listeners}, in order. */
    static TaskListener all(TaskListener... listeners) {
        java.util.List<TaskListener> list = java.util.List.of(listeners);
        return new TaskListener() {
            @Override
            public void started(String taskName, int attempt, int depth) {
                list.forEach(l -> l.started(taskName, attempt, depth));
            }

            @Override
            public void retrying(String taskName, int nextAttempt, TaskError reason) {
                list.forEach(l -> l.retrying(taskName, nextAttempt, reason));
            }

            @Override
            public void finished(Envelope envelope, int depth) {
                list.forEach(l -> l.finished(envelope, depth));
            }

            @Override
            public void preparing(String program) {
                list.forEach(l -> l.preparing(program));
            }

            @Override
            public void programLoaded(String program, boolean reused, long millis) {
                list.forEach(l -> l.programLoaded(program, reused, millis));
            }

            @Override
            public void attemptCreated(TaskAttempt attempt) {
                list.forEach(l -> l.attemptCreated(attempt));
            }

            @Override
            public void attemptRunning(TaskAttempt attempt) {
                list.forEach(l -> l.attemptRunning(attempt));
            }

            @Override
            public void attemptFinished(TaskAttempt attempt, TaskError error, Long fuelConsumed, Long ramUsed) {
                list.forEach(l -> l.attemptFinished(attempt, error, fuelConsumed, ramUsed));
            }
        };
    }
}
