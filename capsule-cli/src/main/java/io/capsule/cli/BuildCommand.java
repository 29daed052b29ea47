package io.capsule.cli;

import io.capsule.core.CapsuleEngine;
import io.capsule.core.TaskListener;
import io.capsule.core.TaskRequest;
import io.capsule.core.config.ConfigException;
import io.capsule.core.options.InvalidTaskException;
import io.capsule.core.project.Artifact;
import io.capsule.core.project.ProjectCache;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code capsule build [FILE]}: prepares FILE's program in the project's cache (so the next run starts
 * fast), warms the runtime up, and writes an artifact that {@code capsule exec} runs without the sources.
 */
@Command(name = "build", description = "Prepare a task file ahead of time and write a runnable artifact.",
        mixinStandardHelpOptions = true)
final class BuildCommand implements Callable<Integer> {
    @ParentCommand
    CapsuleCli parent;

    @Parameters(index = "0", arity = "0..1", paramLabel = "FILE",
            description = "The program to prepare; default: [workflow].entrypoint of capsule.toml.")
    Path file;

    @Option(names = {"-o", "--output"}, paramLabel = "ARTIFACT",
            description = "Where to write the artifact; default: .capsule/build/NAME.capsule in the project.")
    Path output;

    @Option(names = "--json", description = "Print one JSON line describing the artifact.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        PrintStream out = parent.out;
        PrintStream err = parent.err;
        ProjectContext project;
        try {
            if (file == null) {
                project = ProjectContext.ofDirectory(Path.of(""));
                if (project.config().entrypoint() == null) {
                    err.println("capsule: no FILE given and no [workflow].entrypoint in a capsule.toml");
                    return CapsuleCli.EXIT_USAGE;
                }
                file = project.config().entrypoint();
            } else {
                project = ProjectContext.ofFile(file);
            }
        } catch (ConfigException e) {
            err.println("capsule: " + e.getMessage());
            return CapsuleCli.EXIT_USAGE;
        }
        if (!Files.isRegularFile(file)) {
            err.println("capsule: file not found: " + file);
            return CapsuleCli.EXIT_USAGE;
        }
        String name = file.getFileName().toString();
        Path target = output != null ? output
                : project.root().resolve(ProjectCache.DIR).resolve("build")
                        .resolve(name.replaceFirst("\\.[^.]*$", "") + ".capsule");
        CapsuleEngine.Prepared prepared;
        long start = System.nanoTime();
        Progress progress = json ? null : new Progress(err, name);
        try (CapsuleEngine engine = CapsuleEngine.builder().build()) {
            prepared = engine.prepare(TaskRequest.file(file).listener(progress != null ? progress : TaskListener.NONE).build());
        } catch (InvalidTaskException e) {
            err.println("capsule: cannot build " + file + ": " + e.getMessage());
            return 1;
        } finally {
            if (progress != null) {
                progress.close();
            }
        }
        new Artifact(prepared.runtime(), prepared.preparedFormat(), prepared.entry(), prepared.dir(),
                project.config().name(), project.config().version(), project.config().defaults(),
                project.config().ceilings()).write(target);
        long ms = (System.nanoTime() - start) / 1_000_000;
        if (json) {
            var node = new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode();
            node.put("artifact", target.toString());
            node.put("runtime", prepared.runtime());
            node.put("entry", prepared.entry().toString());
            node.put("reused_cache", prepared.reused());
            node.put("duration_ms", ms);
            out.println(node);
        } else {
            out.println("built " + target + " (" + prepared.runtime() + ", "
                    + (prepared.reused() ? "from the project cache" : "prepared now") + ", " + ms + " ms)");
        }
        return 0;
    }
}
