package io.capsule.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.capsule.core.CapsuleEngine;
import io.capsule.core.Envelope;
import io.capsule.core.TaskError;
import io.capsule.core.TaskListener;
import io.capsule.core.TaskRequest;
import io.capsule.core.config.ConfigException;
import io.capsule.core.options.Ceilings;
import io.capsule.core.options.TaskDefaults;
import io.capsule.core.trace.TraceRecorder;
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
class RunCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @ParentCommand
    CapsuleCli parent;

    @Parameters(index = "0", arity = "0..1", paramLabel = "FILE",
            description = "run: the program (.py, .ts, .js; default: [workflow].entrypoint of capsule.toml); "
                    + "exec: the artifact made by 'capsule build'.")
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
        Target target;
        try {
            target = target();
        } catch (UsageException | ConfigException e) {
            err.println("capsule: " + e.getMessage());
            return CapsuleCli.EXIT_USAGE;
        }
        JsonNode arguments;
        List<MountTable.Mount> mounted = new ArrayList<>();
        try {
            arguments = arguments();
            for (String m : mounts) {
                mounted.add(MountSpec.parse(m, Path.of(""), target.project().root()));
            }
        } catch (IllegalArgumentException e) {
            err.println("capsule: " + e.getMessage());
            return CapsuleCli.EXIT_USAGE;
        } catch (UsageException e) {
            err.println("capsule: " + e.getMessage());
            return CapsuleCli.EXIT_USAGE;
        }
        TaskRequest.Builder request = target.request().args(arguments).task(task)
                .defaults(target.defaults()).ceilings(target.ceilings())
                .access(target.access().withMounts(mounted));
        if (!json) {
            request.stdout(out).stderr(err);
        }
        List<TaskListener> listeners = new ArrayList<>();
        Progress progress = json ? null : new Progress(err, target.label());
        if (progress != null) {
            listeners.add(progress);
        }
        if (verbose) {
            listeners.add(new VerboseListener(err));
        }
        // No trace (and no .capsule/ directory) for a file that does not exist.
        TraceRecorder trace = Files.isRegularFile(file) ? target.project().openTrace(err) : null;
        if (trace != null) {
            listeners.add(trace);
        }
        request.listener(TaskListener.all(listeners.toArray(TaskListener[]::new)));
        Envelope envelope;
        try (CapsuleEngine engine = CapsuleEngine.builder().build()) {
            envelope = engine.run(request.build());
        } finally {
            if (progress != null) {
                progress.close();
            }
            if (trace != null) {
                trace.close();
            }
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

    /** What to run, under which project's configuration. */
    record Target(TaskRequest.Builder request, ProjectContext project, String label, TaskDefaults defaults,
            Ceilings ceilings, AccessPolicy access) {}

    /** FILE, else the project's [workflow].entrypoint; with the project's defaults and ceilings. */
    Target target() throws UsageException {
        ProjectContext project;
        if (file != null && !Files.exists(file) && !file.getFileName().toString().contains(".")
                && ProjectContext.ofDirectory(Path.of("")).config().entrypoint() != null) {
            // "capsule run x y" in a project with an entry point: x is an argument, not a missing file.
            args = new ArrayList<>(args);
            args.add(0, file.toString());
            file = null;
        }
        if (file == null) {
            project = ProjectContext.ofDirectory(Path.of(""));
            if (project.config().entrypoint() == null) {
                throw new UsageException("no FILE given and no [workflow].entrypoint in "
                        + (project.config().file() != null ? project.config().file()
                        : "a capsule.toml (none found in this directory or above)"));
            }
            file = project.config().entrypoint();
        } else {
            project = ProjectContext.ofFile(file);
        }
        return new Target(TaskRequest.file(file), project, String.valueOf(file.getFileName()),
                project.config().defaults(), project.config().ceilings(), project.config().access());
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

    static final class UsageException extends Exception {
        UsageException(String message) {
            super(message);
        }
    }
}
