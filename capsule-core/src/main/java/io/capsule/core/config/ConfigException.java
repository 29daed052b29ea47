package io.capsule.core.config;

import java.nio.file.Path;

/** A capsule.toml that cannot be used: the message names the file, the line and the key. */
public final class ConfigException extends RuntimeException {
    private final Path file;
    private final int line;
    private final String key;

    public ConfigException(Path file, int line, String key, String problem) {
        super(file + (line > 0 ? ":" + line : "") + (key == null ? "" : ": " + key) + ": " + problem);
        this.file = file;
        this.line = line;
        this.key = key;
    }

    public Path file() {
        return file;
    }

    /** 1-based line, or 0 when the problem is not on one line. */
    public int line() {
        return line;
    }

    /** The dotted key ("tasks.default_ram"), or null. */
    public String key() {
        return key;
    }
}
