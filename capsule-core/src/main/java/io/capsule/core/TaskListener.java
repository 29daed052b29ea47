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
}
