package io.capsule.core.policy;

import io.capsule.core.policy.FileAccessException.Reason;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * The directories one task may see, each at a guest path relative to the task's working directory, and
 * the one safe way to turn a guest path into a host path. Runtime-agnostic: the Python runtime uses it
 * behind its WASI file system, the JavaScript runtime behind its {@code fs} host functions.
 *
 * <p>Resolution is lexical for {@code ..} (it can never climb above a mount) and then checks the host
 * path component by component without following links: a symbolic link anywhere on the way, or as the
 * target, is refused, and so is a regular file that has other hard links (it could be a link to a file
 * outside) and a special file (FIFO, socket, device). Callers must open the returned path with {@link LinkOption#NOFOLLOW_LINKS}.
 */
public final class MountTable {
    /**
     * One visible directory.
     *
     * @param guestPath where the task sees it, relative to its working directory, "/"-separated and
     *     normalised ("data", "out/logs"; "" for the working directory itself)
     * @param hostDir the real host directory (absolute, no symbolic links)
     * @param writable whether the task may change anything inside
     */
    public record Mount(String guestPath, Path hostDir, boolean writable) {
        public Mount {
            Objects.requireNonNull(guestPath, "guestPath");
            Objects.requireNonNull(hostDir, "hostDir");
            if (!hostDir.isAbsolute()) {
                throw new IllegalArgumentException("host directory must be absolute: " + hostDir);
            }
            guestPath = String.join("/", components(guestPath));
        }

        List<String> parts() {
            return guestPath.isEmpty() ? List.of() : List.of(guestPath.split("/"));
        }
    }

    /**
     * A resolved guest path.
     *
     * @param mount the mount it lies in
     * @param hostPath the host path to use (open it without following links)
     * @param mountRoot whether it is the mount's own directory (which may not be removed or renamed)
     */
    public record Resolved(Mount mount, Path hostPath, boolean mountRoot) {}

    public static final MountTable EMPTY = new MountTable(List.of());

    private final List<Mount> mounts;

    private MountTable(List<Mount> mounts) {
        this.mounts = mounts;
    }

    /** Later mounts at the same guest path replace earlier ones. */
    public static MountTable of(Collection<Mount> mounts) {
        List<Mount> out = new ArrayList<>();
        for (Mount m : mounts) {
            out.removeIf(o -> o.guestPath().equals(m.guestPath()));
            out.add(m);
        }
        // Longest guest path first, so that the innermost mount decides.
        out.sort(Comparator.comparingInt((Mount m) -> m.parts().size()).reversed());
        return new MountTable(List.copyOf(out));
    }

    public List<Mount> mounts() {
        return mounts;
    }

    public boolean isEmpty() {
        return mounts.isEmpty();
    }

    /**
     * Normalises a relative guest path into its components: empty and "." components are dropped, ".."
     * removes the previous one. Absolute paths and paths that climb above the root are refused.
     */
    public static List<String> components(String path) {
        if (path.startsWith("/") || path.startsWith("\\") || path.indexOf('\0') >= 0) {
            throw new FileAccessException(Reason.DENIED, "path " + path + " is outside the allowed directories");
        }
        List<String> out = new ArrayList<>();
        for (String c : path.split("/")) {
            if (c.isEmpty() || c.equals(".")) {
                continue;
            }
            if (c.equals("..")) {
                if (out.isEmpty()) {
                    throw new FileAccessException(Reason.DENIED, "path " + path + " is outside the allowed directories");
                }
                out.remove(out.size() - 1);
            } else {
                out.add(c);
            }
        }
        return out;
    }

    /** The innermost mount holding these (normalised) components, or null. */
    public Mount find(List<String> parts) {
        for (Mount m : mounts) {
            List<String> mp = m.parts();
            if (parts.size() >= mp.size() && parts.subList(0, mp.size()).equals(mp)) {
                return m;
            }
        }
        return null;
    }

    /** Resolves a relative guest path such as "./data/input.txt"; see {@link #resolve(List, boolean)}. */
    public Resolved resolve(String guestPath, boolean write) {
        return resolve(components(guestPath), write);
    }

    /**
     * Resolves normalised guest path components to a host path inside a mount.
     *
     * @param write whether the caller will change the file or directory (create, write, truncate, remove,
     *     rename, set times)
     * @throws FileAccessException when the path is outside every mount ({@code DENIED}), passes through
     *     or is a symbolic link ({@code DENIED}), is a hard-linked file ({@code DENIED}), misses a
     *     directory on the way ({@code NOT_FOUND}, {@code NOT_DIRECTORY}), or is a write to a read-only
     *     mount ({@code READ_ONLY}). The final component itself need not exist.
     */
    public Resolved resolve(List<String> parts, boolean write) {
        return resolve(parts, write, false);
    }

    /**
     * Like {@link #resolve(List, boolean)} for operations on the final component itself that never follow
     * it (reading its own attributes, removing or renaming it): the final component may then be a
     * symbolic link or a hard-linked file, so that listings and clean-up still work. Its target stays
     * unreachable.
     */
    public Resolved resolveNoFollow(List<String> parts, boolean write) {
        return resolve(parts, write, true);
    }

    private Resolved resolve(List<String> parts, boolean write, boolean noFollow) {
        Mount m = find(parts);
        if (m == null) {
            throw new FileAccessException(Reason.DENIED,
                    String.join("/", parts) + " is not inside a directory the task may access");
        }
        List<String> rest = parts.subList(m.parts().size(), parts.size());
        Path host = m.hostDir();
        for (int i = 0; i < rest.size(); i++) {
            host = host.resolve(rest.get(i));
            BasicFileAttributes attrs = lstat(host);
            boolean last = i == rest.size() - 1;
            if (attrs == null) {
                if (last) {
                    break;
                }
                throw new FileAccessException(Reason.NOT_FOUND, "No such file or directory: " + String.join("/", parts));
            }
            if (last && noFollow) {
                break;
            }
            if (attrs.isSymbolicLink()) {
                throw new FileAccessException(Reason.DENIED, "symbolic links are not followed in the sandbox: "
                        + String.join("/", parts.subList(0, m.parts().size() + i + 1)));
            }
            if (!last && !attrs.isDirectory()) {
                throw new FileAccessException(Reason.NOT_DIRECTORY, "Not a directory: "
                        + String.join("/", parts.subList(0, m.parts().size() + i + 1)));
            }
            if (last && attrs.isOther()) {
                // FIFOs, sockets and devices: opening one can block the host thread for ever.
                throw new FileAccessException(Reason.DENIED, "special files are not accessible in the sandbox: "
                        + String.join("/", parts));
            }
            if (last && attrs.isRegularFile() && linkCount(host) > 1) {
                throw new FileAccessException(Reason.DENIED, "files with several hard links are not accessible in the sandbox: "
                        + String.join("/", parts));
            }
        }
        if (write && !m.writable()) {
            throw new FileAccessException(Reason.READ_ONLY, "Read-only file system: "
                    + (m.guestPath().isEmpty() ? "." : m.guestPath()) + " is mounted read-only");
        }
        return new Resolved(m, host, rest.isEmpty());
    }

    private static BasicFileAttributes lstat(Path p) {
        try {
            return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw new FileAccessException(Reason.DENIED, "cannot inspect " + p.getFileName() + ": " + e.getMessage());
        }
    }

    private static int linkCount(Path p) {
        try {
            return ((Number) Files.getAttribute(p, "unix:nlink", LinkOption.NOFOLLOW_LINKS)).intValue();
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
            return 1; // no link counts on this platform (Windows): nothing to check
        } catch (IOException e) {
            throw new FileAccessException(Reason.DENIED, "cannot inspect " + p.getFileName() + ": " + e.getMessage());
        }
    }
}
