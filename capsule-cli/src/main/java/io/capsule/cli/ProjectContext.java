package io.capsule.cli;

import io.capsule.core.ProjectFiles;
import io.capsule.core.config.ProjectConfig;
import io.capsule.core.project.ProjectCache;
import io.capsule.core.trace.TraceRecorder;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

/** What a command needs of a project: its directory, its capsule.toml and its trace file. */
record ProjectContext(Path root, ProjectConfig config) {
    static final String TRACE_FILE = "trace.db";

    /** The project {@code file} belongs to. Throws {@link io.capsule.core.config.ConfigException} for a bad capsule.toml. */
    static ProjectContext ofFile(Path file) {
        Path root = ProjectFiles.findProjectRoot(file);
        return new ProjectContext(root, ProjectConfig.load(root));
    }

    /** The nearest directory from {@code dir} upwards with a capsule.toml, else {@code dir} itself. */
    static ProjectContext ofDirectory(Path dir) {
        Path start = dir.toAbsolutePath().normalize();
        for (Path d = start; d != null; d = d.getParent()) {
            if (Files.isRegularFile(d.resolve(ProjectFiles.CONFIG_FILE))) {
                return new ProjectContext(d, ProjectConfig.load(d));
            }
        }
        return new ProjectContext(start, ProjectConfig.NONE);
    }

    Path traceFile() {
        return root.resolve(ProjectCache.DIR).resolve(TRACE_FILE);
    }

    /** The trace recorder, or null (with a warning) when the trace file cannot be opened: a run never fails for it. */
    TraceRecorder openTrace(PrintStream err) {
        try {
            return TraceRecorder.open(traceFile());
        } catch (IOException | RuntimeException e) {
            err.println("capsule: warning: not recording this run in " + traceFile() + ": " + e.getMessage());
            return null;
        }
    }
}
