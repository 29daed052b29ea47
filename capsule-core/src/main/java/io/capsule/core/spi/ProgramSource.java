package io.capsule.core.spi;

import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * The code of a run: the entry file and the project directory it belongs to. For a source string,
 * {@code files} holds the text under the entry name and {@code projectRoot} is the directory relative
 * paths in options resolve against.
 *
 * @param projectRoot the project directory on the host (absolute, normalised)
 * @param entry the entry file, relative to the project root
 * @param inlineFiles source text for files that do not exist on disk (source-string runs), by relative path
 * @param projectFiles whether the project's source files on disk belong to the program (false for a source
 *     string run without an explicit project root: copying whatever lies in the current directory into
 *     every run would be slow and would expose files nobody chose to give the task)
 */
public record ProgramSource(Path projectRoot, Path entry, Map<Path, String> inlineFiles, boolean projectFiles) {
    public ProgramSource(Path projectRoot, Path entry, Map<Path, String> inlineFiles) {
        this(projectRoot, entry, inlineFiles, true);
    }

    public ProgramSource {
        Objects.requireNonNull(projectRoot, "projectRoot");
        Objects.requireNonNull(entry, "entry");
        if (entry.isAbsolute()) {
            throw new IllegalArgumentException("entry must be relative to the project root");
        }
        inlineFiles = Map.copyOf(inlineFiles);
    }
}
