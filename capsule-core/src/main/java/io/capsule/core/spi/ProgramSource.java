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
 */
public record ProgramSource(Path projectRoot, Path entry, Map<Path, String> inlineFiles) {
    public ProgramSource {
        Objects.requireNonNull(projectRoot, "projectRoot");
        Objects.requireNonNull(entry, "entry");
        if (entry.isAbsolute()) {
            throw new IllegalArgumentException("entry must be relative to the project root");
        }
        inlineFiles = Map.copyOf(inlineFiles);
    }
}
