package io.capsule.core.trace;

import static org.assertj.core.api.Assertions.assertThat;

import io.capsule.core.ErrorType;
import io.capsule.core.TaskAttempt;
import io.capsule.core.TaskError;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TraceRecorderTest {
    @TempDir
    Path dir;

    private static void attempt(TraceRecorder r, TaskAttempt a, TaskError error) {
        r.attemptCreated(a);
        r.attemptRunning(a);
        r.attemptFinished(a, error, 1234L, 5678L);
    }

    @Test
    void recordsStatesParentsAndNumbers() throws Exception {
        Path file = dir.resolve(".capsule/trace.db");
        String run = UUID.randomUUID().toString();
        try (TraceRecorder r = TraceRecorder.open(file)) {
            TaskAttempt main = new TaskAttempt(run, 1, null, "main", 0, 0);
            r.attemptCreated(main);
            r.attemptRunning(main);
            attempt(r, new TaskAttempt(run, 2, 1L, "child", 0, 1), new TaskError(ErrorType.TASK_ERROR, "secret=hunter2"));
            attempt(r, new TaskAttempt(run, 2, 1L, "child", 1, 1), new TaskError(ErrorType.TIMEOUT, "x"));
            attempt(r, new TaskAttempt(run, 2, 1L, "child", 2, 1), new TaskError(ErrorType.FUEL_EXHAUSTED, "x"));
            TaskAttempt waiting = new TaskAttempt(run, 3, 1L, "later", 0, 1);
            r.attemptCreated(waiting);
            r.flush();
            List<TraceLog.Row> rows = TraceLog.recent(file, 10);
            assertThat(rows).extracting(TraceLog.Row::taskName, TraceLog.Row::attempt, TraceLog.Row::state)
                    .containsExactly(
                            org.assertj.core.groups.Tuple.tuple("main", 0, "running"),
                            org.assertj.core.groups.Tuple.tuple("child", 0, "failed"),
                            org.assertj.core.groups.Tuple.tuple("child", 1, "timed_out"),
                            org.assertj.core.groups.Tuple.tuple("child", 2, "fuel_exhausted"),
                            org.assertj.core.groups.Tuple.tuple("later", 0, "created"));
            r.attemptFinished(new TaskAttempt(run, 1, null, "renamed_main", 0, 0), null, null, 99L);
            r.flush();
            rows = TraceLog.recent(file, 10);
            TraceLog.Row m = rows.get(0);
            assertThat(m.state()).isEqualTo("completed");
            assertThat(m.taskName()).isEqualTo("renamed_main");
            assertThat(m.ramUsed()).isEqualTo(99L);
            assertThat(m.fuelConsumed()).isNull();
            assertThat(m.endedAt()).isGreaterThanOrEqualTo(m.startedAt());
            TraceLog.Row c = rows.get(1);
            assertThat(c.parentTaskName()).isEqualTo("renamed_main");
            assertThat(c.errorType()).isEqualTo("task_error");
            assertThat(c.fuelConsumed()).isEqualTo(1234L);
            assertThat(c.depth()).isEqualTo(1);
        }
        // Error messages (which may hold secrets) are never stored.
        assertThat(new String(Files.readAllBytes(file))).doesNotContain("hunter2");
        try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + file);
                ResultSet cols = db.getMetaData().getColumns(null, null, "attempts", null)) {
            List<String> names = new ArrayList<>();
            while (cols.next()) {
                names.add(cols.getString("COLUMN_NAME"));
            }
            assertThat(names).noneMatch(n -> n.contains("message") || n.contains("env") || n.contains("arg"));
        }
    }

    @Test
    void concurrentTasksLoseNoRow() throws Exception {
        Path file = dir.resolve("trace.db");
        int tasks = 32;
        int attemptsEach = 25;
        ExecutorService pool = Executors.newFixedThreadPool(tasks);
        CountDownLatch go = new CountDownLatch(1);
        try (TraceRecorder r = TraceRecorder.open(file)) {
            for (int t = 0; t < tasks; t++) {
                String run = "run-" + t;
                pool.execute(() -> {
                    try {
                        go.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    for (int a = 0; a < attemptsEach; a++) {
                        attempt(r, new TaskAttempt(run, 1, null, "main", a, 0), a % 2 == 0 ? null
                                : new TaskError(ErrorType.TASK_ERROR, "x"));
                    }
                });
            }
            go.countDown();
            pool.shutdown();
            assertThat(pool.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
        }
        List<TraceLog.Row> rows = TraceLog.recent(file, 0);
        assertThat(rows).hasSize(tasks * attemptsEach);
        assertThat(rows).allMatch(r -> r.state().equals(r.attempt() % 2 == 0 ? "completed" : "failed"));
    }

    /** The listener only queues: a trace file locked by another process does not hold a task up. */
    @Test
    void aLockedFileDoesNotBlockTasks() throws Exception {
        Path file = dir.resolve("trace.db");
        try (TraceRecorder r = TraceRecorder.open(file);
                Connection other = DriverManager.getConnection("jdbc:sqlite:" + file);
                Statement s = other.createStatement()) {
            r.flush();
            s.execute("BEGIN EXCLUSIVE");
            long start = System.nanoTime();
            for (int i = 0; i < 1000; i++) {
                attempt(r, new TaskAttempt("locked", i, null, "t", 0, 0), null);
            }
            long ms = (System.nanoTime() - start) / 1_000_000;
            assertThat(ms).as("1000 attempts recorded while the file is locked").isLessThan(500);
            Thread.sleep(300);
            s.execute("COMMIT");
            r.flush();
            assertThat(TraceLog.recent(file, 0)).hasSize(1000);
        }
    }

    @Test
    void onlyTheMostRecentRunsAreKept() throws Exception {
        Path file = dir.resolve("trace.db");
        try (TraceRecorder r = TraceRecorder.open(file, 5)) {
            for (int i = 0; i < 8; i++) {
                attempt(r, new TaskAttempt("run-" + i, 1, null, "main", 0, 0), null);
                attempt(r, new TaskAttempt("run-" + i, 2, 1L, "child", 0, 1), null);
            }
        }
        try (TraceRecorder r = TraceRecorder.open(file, 5)) {
            r.flush(); // opening prunes
        }
        List<TraceLog.Row> rows = TraceLog.recent(file, 0);
        assertThat(rows).extracting(TraceLog.Row::runId).containsOnly("run-3", "run-4", "run-5", "run-6", "run-7");
        assertThat(rows).hasSize(10);
        assertThat(TraceLog.recent(file, 2)).extracting(TraceLog.Row::runId).containsOnly("run-6", "run-7");
    }

    @Test
    void aCorruptFileIsMovedAsideAndTracingGoesOn() throws Exception {
        Path file = dir.resolve("trace.db");
        Files.write(file, "this is not a database, just junk that is long enough to have a header".repeat(100).getBytes());
        try (TraceRecorder r = TraceRecorder.open(file)) {
            attempt(r, new TaskAttempt("r", 1, null, "main", 0, 0), null);
        }
        assertThat(TraceLog.recent(file, 0)).hasSize(1);
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).anyMatch(n -> n.startsWith("trace.db.corrupt-"));
        }
    }
}
