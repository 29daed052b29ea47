package io.capsule.core;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where a project starts: the nearest directory holding a capsule.toml, else the entry file's directory. */
public final class ProjectFiles {
    public static final String CONFIG_FILE = "capsule.toml";

    private ProjectFiles() {}

    public static Path findProjectRoot(Path file) {
        Path dir = file.toAbsolutePath().normalize().getParent();
        for (Path d = dir; d != null; d = d.getParent()) {
            if (Files.isRegularFile(d.resolve(CONFIG_FILE))) {
                return d;
            }
        }
        return dir;
    }
}
