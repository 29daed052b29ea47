package io.capsule.cli;

import io.capsule.core.TaskRequest;
import io.capsule.core.project.Artifact;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.Command;

/**
 * {@code capsule exec ARTIFACT [ARGS...]}: runs an artifact written by {@code capsule build}, with the
 * defaults and ceilings it was built with; no project sources or source toolchain needed. Options are
 * those of {@code run}. Relative paths in task options, the trace file, and the capsule.toml whose access
 * ceilings (directories, hosts, environment, HTTP) apply are those of the current directory.
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
        // Compute limits travel with the artifact; what tasks may reach is the host's (capsule.toml here).
        ProjectContext project = ProjectContext.ofDirectory(here);
        return new Target(TaskRequest.artifact(file).projectRoot(here), project, String.valueOf(file.getFileName()),
                artifact.defaults(), artifact.ceilings(), project.config().access());
    }
}
