package io.capsule.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.capsule.core.CapsuleEngine;
import io.capsule.core.Envelope;
import io.capsule.core.TaskError;
import io.capsule.core.TaskListener;
import io.capsule.core.ProjectFiles;
import io.capsule.core.TaskRequest;
import io.capsule.core.policy.AccessPolicy;
import io.capsule.core.policy.MountSpec;
import io.capsule.core.policy.MountTable;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code capsule run FILE [ARGS...]}: runs the file's entry task and reports its envelope. */
@Command(name = "run", description = "Run a task file (its 'main' task, else its main() function).",
        mixinStandardHelpOptions = true)
final class RunCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @ParentCommand
    CapsuleCli parent;

    @Parameters(index = "0", paramLabel = "FILE", description = "The program to run (.py, .ts, .js).")
    Path file;

    @Parameters(index = "1..*", paramLabel = "ARGS", description = "Arguments passed to the task, as strings.")
    List<String> args = new ArrayList<>();

    @Option(names = "--json", description = "Print only the result envelope, as one JSON line on stdout.")
    boolean json;

    @Option(names = "--verbose", description = "Print task lifecycle lines (started, retried, finished) on stderr.")
    boolean verbose;

    @Option(names = "--task", paramLabel = "NAME", description = "Run this task instead of the entry task.")
    String task;

    @Option(names = "--args-file", paramLabel = "F",
            description = "Read the task's arguments from a JSON array in this file (instead of ARGS).")
    Path argsFile;

    @Option(names = "--mount", paramLabel = "HOST[::GUEST][:ro|:rw]",
            description = "Show a host directory to every task, at GUEST (relative to the task's working "
                    + "directory; default: its path in the project) read-write (default) or read-only. Repeatable.")
    List<String> mounts = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        PrintStream out = parent.out;
        PrintStream err = parent.err;
        JsonNode arguments;
        List<MountTable.Mount> mounted = new ArrayList<>();
        try {
            arguments = arguments();
            for (String m : mounts) {
                mounted.add(MountSpec.parse(m, Path.of(""), ProjectFiles.findProjectRoot(file)));
            }
        } catch (IllegalArgumentException e) {
            err.println("capsule: " + e.getMessage());
            return CapsuleCli.EXIT_USAGE;
        } catch (UsageException e) {
            err.println("capsule: " + e.getMessage());
            return CapsuleCli.EXIT_USAGE;
        }
        TaskRequest.Builder request = TaskRequest.file(file).args(arguments).task(task)
                .access(AccessPolicy.DEFAULT.withMounts(mounted));
        if (!json) {
            request.stdout(out).stderr(err);
        }
        if (verbose) {
            request.listener(new VerboseListener(err));
        }
        Envelope envelope;
        try (CapsuleEngine engine = CapsuleEngine.builder().build()) {
            envelope = engine.run(request.build());
        }
        if (json) {
            out.println(envelope.toJson());
        } else {
            report(envelope, out, err);
        }
        out.flush();
        if (envelope.success()) {
            return 0;
        }
        return !Files.isRegularFile(file) ? CapsuleCli.EXIT_USAGE : 1;
    }

    private JsonNode arguments() throws IOException, UsageException {
        if (argsFile == null) {
            return JSON.valueToTree(args);
        }
        if (!args.isEmpty()) {
            throw new UsageException("give the task's arguments either as ARGS or with --args-file, not both");
        }
        JsonNode parsed;
        try {
            parsed = JSON.readTree(Files.readString(argsFile));
        } catch (IOException e) {
            throw new UsageException("cannot read --args-file " + argsFile + ": " + e.getMessage());
        }
        if (parsed == null || !parsed.isArray()) {
            throw new UsageException("--args-file " + argsFile + " must hold a JSON array of arguments");
        }
        return (ArrayNode) parsed;
    }

    /** Plain mode: the result for a person; the error on stderr. */
    private static void report(Envelope envelope, PrintStream out, PrintStream err) throws IOException {
        if (envelope.success()) {
            JsonNode result = envelope.result();
            if (result.isTextual()) {
                out.println(result.asText());
            } else if (!result.isNull()) {
                out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(result));
            }
        } else {
            TaskError e = envelope.error();
            err.println("capsule: task '" + envelope.execution().taskName() + "' failed (" + e.type().wireName() + "): "
                    + e.message());
        }
    }

    private static final class UsageException extends Exception {
        UsageException(String message) {
            super(message);
        }
    }

    /** --verbose: one line per lifecycle event. */
    private static final class VerboseListener implements TaskListener {
        private final PrintStream err;

        VerboseListener(PrintStream err) {
            this.err = err;
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
}
