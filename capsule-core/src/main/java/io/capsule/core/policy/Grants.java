package io.capsule.core.policy;

import io.capsule.core.options.FileGrant;
import io.capsule.core.options.InvalidTaskException;
import io.capsule.core.options.Limits;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Checks a task's grants ({@code allowed_files}, {@code allowed_hosts}, {@code env_variables}) against
 * the host's {@link AccessPolicy} or its parent task's grants, and turns file grants into a
 * {@link MountTable}. A path that leaves the project is {@code invalid_task} (a bad option); a grant
 * beyond the ceiling or the parent's is {@code permission_denied}.
 */
public final class Grants {
    private final Path root;
    private final AccessPolicy policy;

    /** @param projectRoot the project directory relative paths in options resolve against */
    public Grants(Path projectRoot, AccessPolicy policy) {
        this.root = projectRoot.toAbsolutePath().normalize();
        this.policy = policy;
    }

    public AccessPolicy policy() {
        return policy;
    }

    /**
     * Refuses grants that widen what {@code parent} has (a sub-task), or the host's ceiling when
     * {@code parent} is null (the entry task).
     */
    public void check(Limits asked, Limits parent) {
        String who = "task '" + asked.taskName() + "'";
        for (FileGrant g : asked.allowedFiles()) {
            List<String> rel = relative(g.path(), who);
            List<FileGrant> within = parent != null ? parent.allowedFiles() : policy.maxFiles();
            if (within != null && !covered(within, rel, g.writable(), who)) {
                throw new PermissionDeniedException(who + ": allowed_files " + describe(g) + " is beyond what "
                        + (parent != null ? "its caller '" + parent.taskName() + "' may access" : "the host allows"));
            }
        }
        List<String> hosts = parent != null ? parent.allowedHosts() : policy.maxHosts();
        for (String h : asked.allowedHosts()) {
            if (hosts != null && !HostPatterns.covered(hosts, h)) {
                throw new PermissionDeniedException(who + ": allowed_hosts \"" + h + "\" is beyond what "
                        + (parent != null ? "its caller '" + parent.taskName() + "' may reach" : "the host allows"));
            }
        }
        Collection<String> env = parent != null ? parent.envVariables() : policy.maxEnv();
        for (String name : asked.envVariables()) {
            if (env != null && !env.contains(name)) {
                throw new PermissionDeniedException(who + ": env_variables \"" + name + "\" is beyond what "
                        + (parent != null ? "its caller '" + parent.taskName() + "' may read" : "the host allows"));
            }
        }
    }

    /**
     * The mounts a task with these grants sees: the host's own mounts plus one per grant, at the same
     * relative path as in the project. Each granted directory must exist and really lie inside the
     * project (a symbolic link out of it is refused).
     */
    public MountTable mounts(List<FileGrant> grants) {
        List<MountTable.Mount> out = new ArrayList<>(policy.mounts());
        for (FileGrant g : grants) {
            String who = "allowed_files " + describe(g);
            List<String> rel = relative(g.path(), who);
            Path dir = root.resolve(String.join("/", rel));
            Path real;
            try {
                real = dir.toRealPath();
                if (!root.toRealPath().equals(real) && !real.startsWith(root.toRealPath())) {
                    throw new InvalidTaskException(who + ": the directory is a symbolic link out of the project");
                }
            } catch (IOException e) {
                throw new InvalidTaskException(who + ": no such directory in the project");
            }
            if (!Files.isDirectory(real)) {
                throw new InvalidTaskException(who + ": not a directory (allowed_files grants directories)");
            }
            out.add(new MountTable.Mount(String.join("/", rel), real, g.writable()));
        }
        return MountTable.of(out);
    }

    /** The grant's path as components relative to the project root; refused when it leaves the project. */
    private List<String> relative(String path, String who) {
        Path p = Path.of(path);
        Path abs = (p.isAbsolute() ? p : root.resolve(p)).normalize();
        if (!abs.startsWith(root)) {
            throw new InvalidTaskException(who + ": path \"" + path + "\" escapes the project directory");
        }
        List<String> out = new ArrayList<>();
        for (Path c : root.relativize(abs)) {
            if (!c.toString().isEmpty()) {
                out.add(c.toString());
            }
        }
        return out;
    }

    private boolean covered(List<FileGrant> within, List<String> rel, boolean write, String who) {
        for (FileGrant w : within) {
            List<String> base = relative(w.path(), who);
            if (rel.size() >= base.size() && rel.subList(0, base.size()).equals(base) && (w.writable() || !write)) {
                return true;
            }
        }
        return false;
    }

    private static String describe(FileGrant g) {
        return "\"" + g.path() + "\" (" + (g.writable() ? "rw" : "ro") + ")";
    }
}
