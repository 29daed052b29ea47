package io.capsule.core;

/**
 * Which attempt a lifecycle event is about.
 *
 * @param runId the run (one {@link CapsuleEngine#submit} call) the attempt belongs to
 * @param taskId the task within its run: 1 for the entry task, then counting up as sub-tasks start
 * @param parentTaskId the task that called this one, or null for the entry task
 * @param taskName the task's name (for the entry task "main" until the program says otherwise)
 * @param attempt 0 for the first attempt, 1 for the first retry
 * @param depth 0 for the entry task, 1 for its sub-tasks
 */
public record TaskAttempt(String runId, long taskId, Long parentTaskId, String taskName, int attempt, int depth) {}
