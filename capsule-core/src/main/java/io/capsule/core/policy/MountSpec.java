package io.capsule.core.policy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** The {@code --mount HOST[::GUEST][:ro|:rw]} syntax: a host directory the host itself shows to every task. */
public final class MountSpec {
    private MountSpec() {}

    /**
     * Parses one mount. HOST is relative to {@code cwd}; GUEST is relative to the task's working
     * directory and defaults to HOST's path inside the project (or its last name when it is outside);
     * the mode defaults to read-write, as for {@code allowed_files}.
     *
     * @throws IllegalArgumentException with a message for the user
     */
    public static MountTable.Mount parse(String spec, Path cwd, Path projectRoot) {
        String rest = spec;
        boolean writable = true;
        if (rest.endsWith(":ro") || rest.endsWith(":rw")) {
            writable = rest.endsWith(":rw");
            rest = rest.substring(0, rest.length() - 3);
        }
        String hostText = rest;
        String guest = null;
        int sep = rest.indexOf("::");
        if (sep >= 0) {
            hostText = rest.substring(0, sep);
            guest = rest.substring(sep + 2);
        }
        if (hostText.isEmpty()) {
            throw new IllegalArgumentException("--mount " + spec + ": HOST directory missing");
        }
        Path host = cwd.resolve(hostText).toAbsolutePath().normalize();
        Path real;
        try {
            real = host.toRealPath();
        } catch (IOException e) {
            throw new IllegalArgumentException("--mount " + spec + ": no such directory " + host);
        }
        if (!Files.isDirectory(real)) {
            throw new IllegalArgumentException("--mount " + spec + ": " + host + " is not a directory");
        }
        if (guest == null) {
            Path root = projectRoot.toAbsolutePath().normalize();
            guest = host.startsWith(root) ? root.relativize(host).toString().replace('\\', '/')
                    : host.getFileName() == null ? "" : host.getFileName().toString();
        }
        List<String> parts;
        try {
            parts = MountTable.components(guest);
        } catch (FileAccessException e) {
            throw new IllegalArgumentException("--mount " + spec + ": GUEST must be a path relative to the task's "
                    + "working directory, without \"..\" above it (got \"" + guest + "\")");
        }
        return new MountTable.Mount(String.join("/", parts), real, writable);
    }
}
