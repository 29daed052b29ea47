package io.capsule.core.trace;

import io.capsule.core.ErrorType;
import io.capsule.core.TaskAttempt;
import io.capsule.core.TaskError;
import io.capsule.core.TaskListener;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records every task attempt in a SQLite file ({@code .capsule/trace.db}): one row per attempt, going
 * created → running → completed / failed / timed_out / fuel_exhausted. Listener calls only queue the
 * change; one writer thread applies queued changes in batches, one transaction per batch, so a task never
 * waits on the disk and concurrent tasks never lose a row. Only names, states, times, numbers and the
 * error type are stored: never arguments, results, output, environment values or error messages, which
 * may hold secrets.
 *
 * <p>Pruning: the rows of the most recent {@link #DEFAULT_KEEP_RUNS} runs are kept; older runs are
 * deleted when the file is opened and after every {@value #PRUNE_EVERY} new attempts.
 */
public final class TraceRecorder implements TaskListener, AutoCloseable {
    public static final int DEFAULT_KEEP_RUNS = 1000;
    private static final int PRUNE_EVERY = 1000;
    private static final int BATCH = 512;
    private static final Logger LOG = LoggerFactory.getLogger(TraceRecorder.class);

    static final String SCHEMA = """
            CREATE TABLE IF NOT EXISTS attempts (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                run_id TEXT NOT NULL,
                task_id INTEGER NOT NULL,
                parent_task_id INTEGER,
                task_name TEXT NOT NULL,
                attempt INTEGER NOT NULL,
                depth INTEGER NOT NULL,
                state TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                started_at INTEGER,
                ended_at INTEGER,
                duration_ms INTEGER,
                fuel_consumed INTEGER,
                ram_used INTEGER,
                error_type TEXT,
                UNIQUE (run_id, task_id, attempt))""";

    private final Path file;
    private final int keepRuns;
    /** Opened by the writer thread: loading SQLite's native library takes about a second in a cold JVM. */
    private Connection db;
    private final LinkedBlockingQueue<Change> queue = new LinkedBlockingQueue<>();
    private final Thread writer;
    private final Object progress = new Object();
    private long queued;
    private long applied;
    private long insertsSincePrune;
    private volatile boolean closed;

    private TraceRecorder(Path file, int keepRuns) {
        this.file = file;
        this.keepRuns = keepRuns;
        this.writer = new Thread(this::writeLoop, "capsule-trace-writer");
        writer.setDaemon(true);
    }

    /**
     * Starts recording into {@code file} (created if missing; a file that is not a readable database is
     * moved aside). Returns at once: the file is opened in the background, and changes queue up meanwhile.
     */
    public static TraceRecorder open(Path file) throws IOException {
        return open(file, DEFAULT_KEEP_RUNS);
    }

    public static TraceRecorder open(Path file, int keepRuns) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        TraceRecorder recorder = new TraceRecorder(file, keepRuns);
        recorder.enqueue(Change.PRUNE);
        recorder.writer.start();
        return recorder;
    }

    private static Connection openOrReplace(Path file) throws IOException {
        try {
            return connect(file);
        } catch (SQLException e) {
            Path aside = file.resolveSibling(file.getFileName() + ".corrupt-" + System.currentTimeMillis());
            LOG.warn("trace file {} is unreadable ({}); moved to {}", file, e.getMessage(), aside);
            Files.move(file, aside, StandardCopyOption.REPLACE_EXISTING);
            Files.deleteIfExists(file.resolveSibling(file.getFileName() + "-wal"));
            Files.deleteIfExists(file.resolveSibling(file.getFileName() + "-shm"));
            try {
                return connect(file);
            } catch (SQLException again) {
                throw new IOException("cannot create trace file " + file + ": " + again.getMessage(), again);
            }
        }
    }

    static Connection connect(Path file) throws SQLException {
        Connection db = DriverManager.getConnection("jdbc:sqlite:" + file.toAbsolutePath());
        try (Statement s = db.createStatement()) {
            // Another process (a second CLI run, a worker) may be writing: wait for its lock, don't fail.
            s.execute("PRAGMA busy_timeout = 10000");
            s.execute("PRAGMA journal_mode = WAL");
            s.execute("PRAGMA synchronous = NORMAL");
            s.execute(SCHEMA);
            s.execute("CREATE INDEX IF NOT EXISTS attempts_run ON attempts (run_id)");
        } catch (SQLException e) {
            db.close();
            throw e;
        }
        return db;
    }

    public Path file() {
        return file;
    }

    @Override
    public void attemptCreated(TaskAttempt a) {
        enqueue(new Change(Kind.CREATED, a, System.currentTimeMillis(), null, null, null));
    }

    @Override
    public void attemptRunning(TaskAttempt a) {
        enqueue(new Change(Kind.RUNNING, a, System.currentTimeMillis(), null, null, null));
    }

    @Override
    public void attemptFinished(TaskAttempt a, TaskError error, Long fuelConsumed, Long ramUsed) {
        enqueue(new Change(Kind.FINISHED, a, System.currentTimeMillis(), error == null ? null : error.type(),
                fuelConsumed, ramUsed));
    }

    /** The trace state an attempt ends in. */
    static String finalState(ErrorType error) {
        if (error == null) {
            return "completed";
        }
        return switch (error) {
            case TIMEOUT -> "timed_out";
            case FUEL_EXHAUSTED -> "fuel_exhausted";
            default -> "failed";
        };
    }

    private void enqueue(Change c) {
        if (closed) {
            return;
        }
        synchronized (progress) {
            queued++;
        }
        queue.add(c);
    }

    /** Waits until every change queued so far is in the file. */
    public void flush() throws InterruptedException {
        synchronized (progress) {
            long target = queued;
            while (applied < target && writer.isAlive()) {
                progress.wait(100);
            }
        }
    }

    @Override
    public void close() {
        try {
            flush();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        closed = true;
        writer.interrupt();
        try {
            writer.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (writer.isAlive()) {
            return; // still busy (a long lock by another process): the daemon thread goes on alone
        }
        try {
            if (db != null) {
                db.close();
            }
        } catch (SQLException e) {
            LOG.warn("closing trace file {}: {}", file, e.getMessage());
        }
    }

    private void writeLoop() {
        try {
            db = openOrReplace(file);
        } catch (IOException | RuntimeException e) {
            LOG.warn("not recording task attempts: {}", e.getMessage());
            closed = true;
            return;
        }
        List<Change> batch = new ArrayList<>(BATCH);
        boolean stopping = false;
        while (true) {
            if (stopping) {
                // Closing: write what is still queued, then stop without waiting for more.
                Change c = queue.poll();
                if (c == null) {
                    return;
                }
                batch.add(c);
            } else {
                try {
                    batch.add(queue.take());
                } catch (InterruptedException e) {
                    stopping = true;
                    continue;
                }
            }
            queue.drainTo(batch, BATCH - batch.size());
            write(batch);
            synchronized (progress) {
                applied += batch.size();
                progress.notifyAll();
            }
            batch.clear();
        }
    }

    private void write(List<Change> batch) {
        for (int tries = 0; ; tries++) {
            try {
                apply(batch);
                return;
            } catch (SQLException e) {
                try {
                    db.rollback();
                } catch (SQLException ignored) {
                    // The connection is unusable; the retry below reports it.
                }
                if (tries >= 2) {
                    LOG.warn("could not write {} trace changes to {}: {}", batch.size(), file, e.getMessage());
                    return;
                }
            }
        }
    }

    private void apply(List<Change> batch) throws SQLException {
        db.setAutoCommit(false);
        try (PreparedStatement insert = db.prepareStatement("INSERT OR IGNORE INTO attempts "
                + "(run_id, task_id, parent_task_id, task_name, attempt, depth, state, created_at) "
                + "VALUES (?, ?, ?, ?, ?, ?, 'created', ?)");
                PreparedStatement running = db.prepareStatement("UPDATE attempts SET state = 'running', "
                        + "started_at = ? WHERE run_id = ? AND task_id = ? AND attempt = ? AND state = 'created'");
                PreparedStatement finished = db.prepareStatement("UPDATE attempts SET state = ?, task_name = ?, "
                        + "ended_at = ?, duration_ms = ? - COALESCE(started_at, created_at), fuel_consumed = ?, "
                        + "ram_used = ?, error_type = ? WHERE run_id = ? AND task_id = ? AND attempt = ?")) {
            boolean prune = false;
            for (Change c : batch) {
                TaskAttempt a = c.attempt;
                switch (c.kind) {
                    case CREATED -> {
                        insert.setString(1, a.runId());
                        insert.setLong(2, a.taskId());
                        insert.setObject(3, a.parentTaskId());
                        insert.setString(4, a.taskName());
                        insert.setInt(5, a.attempt());
                        insert.setInt(6, a.depth());
                        insert.setLong(7, c.at);
                        insert.executeUpdate();
                        prune |= ++insertsSincePrune >= PRUNE_EVERY;
                    }
                    case RUNNING -> {
                        running.setLong(1, c.at);
                        running.setString(2, a.runId());
                        running.setLong(3, a.taskId());
                        running.setInt(4, a.attempt());
                        running.executeUpdate();
                    }
                    case FINISHED -> {
                        finished.setString(1, finalState(c.error));
                        finished.setString(2, a.taskName());
                        finished.setLong(3, c.at);
                        finished.setLong(4, c.at);
                        finished.setObject(5, c.fuel);
                        finished.setObject(6, c.ram);
                        finished.setString(7, c.error == null ? null : c.error.wireName());
                        finished.setString(8, a.runId());
                        finished.setLong(9, a.taskId());
                        finished.setInt(10, a.attempt());
                        finished.executeUpdate();
                    }
                    case PRUNE -> prune = true;
                    default -> throw new IllegalStateException(c.kind.toString());
                }
            }
            if (prune) {
                prune();
            }
            db.commit();
        } finally {
            db.setAutoCommit(true);
        }
    }

    private void prune() throws SQLException {
        insertsSincePrune = 0;
        try (PreparedStatement s = db.prepareStatement("DELETE FROM attempts WHERE run_id NOT IN "
                + "(SELECT run_id FROM attempts GROUP BY run_id ORDER BY MIN(id) DESC LIMIT ?)")) {
            s.setInt(1, keepRuns);
            s.executeUpdate();
        }
    }

    private enum Kind { CREATED, RUNNING, FINISHED, PRUNE }

    private record Change(Kind kind, TaskAttempt attempt, long at, ErrorType error, Long fuel, Long ram) {
        static final Change PRUNE = new Change(Kind.PRUNE, null, 0, null, null, null);
    }
}
