package io.capsule.core.options;

import java.util.Objects;

/** One directory a task may see: its path as written in the options, and whether it may write there. */
public record FileGrant(String path, boolean writable) {
    public FileGrant {
        Objects.requireNonNull(path, "path");
    }

    public static boolean parseWritable(String mode) {
        return switch (mode) {
            case "rw", "read-write" -> true;
            case "ro", "read-only" -> false;
            default -> throw new IllegalArgumentException(
                    "mode \"" + mode + "\" is not one of \"ro\", \"read-only\", \"rw\", \"read-write\"");
        };
    }
}
