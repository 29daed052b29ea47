package io.capsule.wasm.fs;

import io.capsule.core.policy.FileAccessException;
import io.capsule.core.policy.FileAccessException.Reason;
import io.capsule.core.policy.MountTable;
import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.WatchService;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The one directory tree a guest sees through WASI: a read-only base directory (the runtime's own files
 * and the task's sources) with the task's allowed directories mounted under {@code mountDir}. Handed to
 * Chicory as the preopened directory; every file operation Chicory makes lands in
 * {@link JailFileSystemProvider}, which resolves it with {@link MountTable} (for mounted paths) or inside
 * the base directory (read-only), so nothing else on the host can be named. The mount table can change
 * while the instance runs (the entry task's grants are known only after its code has loaded).
 */
public final class JailFileSystem extends FileSystem {
    private static final Path VIRTUAL_ROOT = Path.of("/");

    private final JailFileSystemProvider provider = new JailFileSystemProvider(this);
    private final Path base;
    private final String mountDir;
    private volatile MountTable mounts = MountTable.EMPTY;

    /**
     * @param base the host directory seen as the root (never written)
     * @param mountDir the directory, relative to the root, that mounts' guest paths are relative to
     *     (the task's working directory)
     */
    public JailFileSystem(Path base, String mountDir) {
        this.base = base.toAbsolutePath().normalize();
        this.mountDir = mountDir;
    }

    /** The root, to hand to WASI as the preopened directory. */
    public Path root() {
        return new JailPath(this, VIRTUAL_ROOT);
    }

    /**
     * Replaces the visible mounts. Their mount points are created as empty directories in the base
     * tree, so that listing the working directory shows them.
     */
    public void mounts(MountTable table) {
        for (MountTable.Mount m : table.mounts()) {
            try {
                Files.createDirectories(base.resolve(mountDir).resolve(m.guestPath()));
            } catch (IOException e) {
                // A source file in the way: the mount still resolves, it is just not listed.
            }
        }
        this.mounts = table;
    }

    Path rootVirtual() {
        return VIRTUAL_ROOT;
    }

    /** Where an operation on {@code path} goes on the host. */
    record Target(Path host, boolean mountRoot) {}

    Target resolve(Path path, boolean write) throws NoSuchFileException {
        return resolve(path, write, false);
    }

    /** For operations on the entry itself (attributes, remove, rename): see {@link MountTable#resolveNoFollow}. */
    Target resolveNoFollow(Path path, boolean write) throws NoSuchFileException {
        return resolve(path, write, true);
    }

    private Target resolve(Path path, boolean write, boolean noFollow) throws NoSuchFileException {
        Path abs = VIRTUAL_ROOT.resolve(((JailPath) path).virtual()).normalize();
        List<String> parts = new ArrayList<>();
        for (Path c : abs) {
            parts.add(c.toString());
        }
        MountTable table = mounts;
        if (!parts.isEmpty() && parts.get(0).equals(mountDir)) {
            List<String> rest = parts.subList(1, parts.size());
            if (table.find(rest) != null) {
                try {
                    MountTable.Resolved r = noFollow ? table.resolveNoFollow(rest, write) : table.resolve(rest, write);
                    return new Target(r.hostPath(), r.mountRoot());
                } catch (FileAccessException e) {
                    if (e.reason() == Reason.NOT_FOUND || e.reason() == Reason.NOT_DIRECTORY) {
                        throw new NoSuchFileException(abs.toString());
                    }
                    throw e;
                }
            }
        }
        if (write) {
            throw new FileAccessException(Reason.READ_ONLY, "Read-only file system: " + abs
                    + " is not in a writable allowed directory");
        }
        return new Target(base.resolve(String.join("/", parts)), parts.isEmpty());
    }

    @Override
    public JailFileSystemProvider provider() {
        return provider;
    }

    @Override
    public void close() {
        // Nothing to release: the base tree belongs to the runtime.
    }

    @Override
    public boolean isOpen() {
        return true;
    }

    @Override
    public boolean isReadOnly() {
        return false;
    }

    @Override
    public String getSeparator() {
        return "/";
    }

    @Override
    public Iterable<Path> getRootDirectories() {
        return List.of(root());
    }

    @Override
    public Iterable<FileStore> getFileStores() {
        return List.of();
    }

    @Override
    public Set<String> supportedFileAttributeViews() {
        return Set.of("basic", "posix", "unix");
    }

    @Override
    public Path getPath(String first, String... more) {
        return new JailPath(this, Path.of(first, more));
    }

    @Override
    public PathMatcher getPathMatcher(String syntaxAndPattern) {
        PathMatcher m = FileSystems.getDefault().getPathMatcher(syntaxAndPattern);
        return p -> p instanceof JailPath j && m.matches(j.virtual());
    }

    @Override
    public UserPrincipalLookupService getUserPrincipalLookupService() {
        throw new UnsupportedOperationException("no user principals in the sandbox");
    }

    @Override
    public WatchService newWatchService() {
        throw new UnsupportedOperationException("no watch service in the sandbox");
    }
}
