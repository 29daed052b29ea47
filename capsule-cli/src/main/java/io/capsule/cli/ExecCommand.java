package io.capsule.cli;

import io.capsule.core.TaskRequest;
import io.capsule.core.project.Artifact;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.Command;

/**
 * {@code capsule exec ARTIFACT [ARGS...]}: runs an artifact written by {@code capsule build}, with the
 * defaults and ceilings it was built with; no project sources or source toolchain needed. Options are
 * those of {@code run}. Relative paths in task options, and the trace file, are in the current directory.
 */
@Command(name = "exec", description = "Run a prepared artifact (made by 'capsule build') without its sources.",
        mixinStandardHelpOptions = true)
final class ExecCommand extends RunCommand {
    @Override
    Target target() throws UsageException {
        if (file == null) {
            throw new UsageException("exec needs an ARTIFACT (made by 'capsule build FILE')");
        }
        Artifact artifact;
        try {
            artifact = Artifact.inspect(file);
        } catch (IOException e) {
            throw new UsageException(e.getMessage());
        }
        Path here = Path.of("").toAbsolutePath();
        return new Target(TaskRequest.artifact(file).projectRoot(here), ProjectContext.ofDirectory(here),
                String.valueOf(file.getFileName()), artifact.defaults(), artifact.ceilings());
    }
}
