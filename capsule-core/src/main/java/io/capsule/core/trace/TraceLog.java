package io.capsule.core.trace;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/** Reads what {@link TraceRecorder} wrote: the attempts of the most recent runs, oldest first. */
public final class TraceLog {
    private TraceLog() {}

    /**
     * One attempt. Times are epoch milliseconds; nullable fields are null until known.
     *
     * @param parentTaskName the calling task's name, or null for an entry task
     */
    public record Row(
            String runId, long taskId, Long parentTaskId, String taskName, String parentTaskName, int attempt,
            int depth, String state, long createdAt, Long startedAt, Long endedAt, Long durationMs,
            Long fuelConsumed, Long ramUsed, String errorType) {}

    /** The attempts of the last {@code runs} runs (all runs when {@code runs <= 0}); empty when there is no file. */
    public static List<Row> recent(Path file, int runs) throws SQLException {
        if (!Files.isRegularFile(file)) {
            return List.of();
        }
        String sql = """
                SELECT a.*, p.task_name AS parent_name FROM attempts a
                LEFT JOIN attempts p ON p.run_id = a.run_id AND p.task_id = a.parent_task_id AND p.attempt = 0
                WHERE a.run_id IN (SELECT run_id FROM attempts GROUP BY run_id ORDER BY MIN(id) DESC LIMIT ?)
                ORDER BY a.id""";
        List<Row> rows = new ArrayList<>();
        try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + file.toAbsolutePath());
                Statement pragma = db.createStatement();
                PreparedStatement s = db.prepareStatement(sql)) {
            pragma.execute("PRAGMA busy_timeout = 10000");
            s.setInt(1, runs <= 0 ? -1 : runs);
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    rows.add(new Row(r.getString("run_id"), r.getLong("task_id"), nullableLong(r, "parent_task_id"),
                            r.getString("task_name"), r.getString("parent_name"), r.getInt("attempt"),
                            r.getInt("depth"), r.getString("state"), r.getLong("created_at"),
                            nullableLong(r, "started_at"), nullableLong(r, "ended_at"), nullableLong(r, "duration_ms"),
                            nullableLong(r, "fuel_consumed"), nullableLong(r, "ram_used"), r.getString("error_type")));
                }
            }
        }
        return rows;
    }

    private static Long nullableLong(ResultSet r, String column) throws SQLException {
        long v = r.getLong(column);
        return r.wasNull() ? null : v;
    }
}
