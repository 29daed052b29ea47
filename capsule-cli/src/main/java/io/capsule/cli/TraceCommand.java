package io.capsule.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import io.capsule.core.trace.TraceLog;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code capsule trace [PROJECT]}: the attempts of recent runs, from the project's .capsule/trace.db. */
@Command(name = "trace", description = "Show recent task attempts recorded in .capsule/trace.db.",
        mixinStandardHelpOptions = true)
final class TraceCommand implements Callable<Integer> {
    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS").withZone(ZoneId.systemDefault());

    @ParentCommand
    CapsuleCli parent;

    @Parameters(index = "0", arity = "0..1", paramLabel = "PROJECT",
            description = "A project directory or one of its files; default: the current directory.")
    Path project;

    @Option(names = "--runs", paramLabel = "N", description = "How many recent runs to show (default: 10; 0 for all).")
    int runs = 10;

    @Option(names = "--json", description = "Print the attempts as one JSON array.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        PrintStream out = parent.out;
        Path where = project == null ? Path.of("") : project;
        ProjectContext ctx = Files.isRegularFile(where) ? ProjectContext.ofFile(where) : ProjectContext.ofDirectory(where);
        List<TraceLog.Row> rows;
        try {
            rows = TraceLog.recent(ctx.traceFile(), runs);
        } catch (SQLException e) {
            parent.err.println("capsule: cannot read " + ctx.traceFile() + ": " + e.getMessage());
            return 1;
        }
        if (json) {
            ObjectMapper mapper = new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);
            out.println(mapper.writeValueAsString(rows));
            return 0;
        }
        if (rows.isEmpty()) {
            out.println("No runs recorded in " + ctx.traceFile());
            return 0;
        }
        List<String[]> table = new ArrayList<>();
        table.add(new String[] {"RUN", "TASK", "PARENT", "TRY", "STATE", "STARTED", "MS", "FUEL", "MEMORY", "ERROR"});
        for (TraceLog.Row r : rows) {
            table.add(new String[] {
                r.runId().substring(0, 8),
                "  ".repeat(r.depth()) + r.taskName(),
                r.parentTaskName() == null ? "-" : r.parentTaskName(),
                String.valueOf(r.attempt()),
                r.state(),
                TIME.format(Instant.ofEpochMilli(r.startedAt() != null ? r.startedAt() : r.createdAt())),
                r.durationMs() == null ? "-" : String.valueOf(r.durationMs()),
                r.fuelConsumed() == null ? "-" : String.valueOf(r.fuelConsumed()),
                r.ramUsed() == null ? "-" : (r.ramUsed() >> 20) + "MB",
                r.errorType() == null ? "-" : r.errorType()});
        }
        int[] width = new int[table.get(0).length];
        for (String[] row : table) {
            for (int i = 0; i < row.length; i++) {
                width[i] = Math.max(width[i], row[i].length());
            }
        }
        for (String[] row : table) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < row.length; i++) {
                line.append(String.format("%-" + width[i] + "s", row[i])).append(i < row.length - 1 ? "  " : "");
            }
            out.println(line.toString().stripTrailing());
        }
        return 0;
    }
}
