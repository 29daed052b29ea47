package io.capsule.core.policy;

import io.capsule.core.policy.FileAccessException.Reason;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * File operations for runtimes whose guests reach files through host functions instead of WASI (the
 * JavaScript runtime's {@code fs}), with the same rules as the Python jail: every path goes through the
 * task's {@link MountTable}, nothing is followed through a link, and links cannot be created. Paths are
 * guest paths relative to the task's working directory ("./data/input.txt"); absolute paths and paths
 * climbing out are refused.
 *
 * <p>Errors: {@link FileAccessException} for policy refusals, the usual {@link IOException}s otherwise;
 * {@link #errorCode} names either the way Node.js does ("ENOENT", "EROFS", ...).
 */
public final class SandboxFiles {
    /** The largest file {@link #read} returns: a guest cannot make the host buffer more. */
    public static final long MAX_READ_BYTES = 256L << 20;

    private final Supplier<MountTable> mounts;

    /** @param mounts the task's mounts now in force (they change once the entry task's grants are checked) */
    public SandboxFiles(Supplier<MountTable> mounts) {
        this.mounts = mounts;
    }

    private MountTable.Resolved follow(String path, boolean write) {
        return mounts.get().resolve(path, write);
    }

    private MountTable.Resolved entry(String path, boolean write) {
        return mounts.get().resolveNoFollow(MountTable.components(path), write);
    }

    public byte[] read(String path) throws IOException {
        try (FileChannel ch = FileChannel.open(follow(path, false).hostPath(), StandardOpenOption.READ,
                LinkOption.NOFOLLOW_LINKS)) {
            if (ch.size() > MAX_READ_BYTES) {
                throw new IOException("file larger than " + MAX_READ_BYTES + " bytes: " + path);
            }
            return java.nio.channels.Channels.newInputStream(ch).readAllBytes();
        }
    }

    /** Creates or replaces the file (or appends to it). */
    public void write(String path, byte[] data, boolean append) throws IOException {
        Set<OpenOption> opts = Set.of(StandardOpenOption.WRITE, StandardOpenOption.CREATE, LinkOption.NOFOLLOW_LINKS,
                append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING);
        try (FileChannel ch = FileChannel.open(follow(path, true).hostPath(), opts)) {
            java.nio.ByteBuffer buf = java.nio.ByteBuffer.wrap(data);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
        }
    }

    /** Entry names, sorted. */
    public List<String> list(String path) throws IOException {
        List<String> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(follow(path, false).hostPath())) {
            for (Path p : ds) {
                out.add(p.getFileName().toString());
            }
        }
        out.sort(null);
        return out;
    }

    /** {@code type} ("file", "directory", "symlink", "other"), {@code size}, {@code mtimeMs}; of the entry itself. */
    public Map<String, Object> stat(String path) throws IOException {
        BasicFileAttributes a = Files.readAttributes(entry(path, false).hostPath(), BasicFileAttributes.class,
                LinkOption.NOFOLLOW_LINKS);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("type", a.isRegularFile() ? "file" : a.isDirectory() ? "directory" : a.isSymbolicLink() ? "symlink" : "other");
        out.put("size", a.size());
        out.put("mtimeMs", a.lastModifiedTime().toMillis());
        return out;
    }

    public boolean exists(String path) {
        try {
            return Files.exists(entry(path, false).hostPath(), LinkOption.NOFOLLOW_LINKS);
        } catch (FileAccessException e) {
            return false;
        }
    }

    public void mkdir(String path, boolean recursive) throws IOException {
        List<String> parts = MountTable.components(path);
        int from = recursive ? 1 : parts.size();
        for (int i = from; i <= parts.size(); i++) {
            Path dir = mounts.get().resolve(parts.subList(0, i), true).hostPath();
            if (recursive && Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
                continue;
            }
            Files.createDirectory(dir);
        }
    }

    /** Removes a file, a link (not its target) or an empty directory. */
    public void remove(String path) throws IOException {
        MountTable.Resolved r = entry(path, true);
        if (r.mountRoot()) {
            throw new FileAccessException(Reason.BUSY, "an allowed directory itself cannot be removed: " + path);
        }
        Files.delete(r.hostPath());
    }

    public void rename(String from, String to) throws IOException {
        MountTable.Resolved a = entry(from, true);
        MountTable.Resolved b = follow(to, true);
        if (a.mountRoot() || b.mountRoot()) {
            throw new FileAccessException(Reason.BUSY, "an allowed directory itself cannot be renamed or replaced");
        }
        Files.move(a.hostPath(), b.hostPath(), StandardCopyOption.ATOMIC_MOVE);
    }

    /** The Node.js-style code for an error of these operations ("EIO" when none fits). */
    public static String errorCode(Exception e) {
        if (e instanceof FileAccessException f) {
            return switch (f.reason()) {
                case NOT_FOUND -> "ENOENT";
                case NOT_DIRECTORY -> "ENOTDIR";
                case DENIED -> "EACCES";
                case READ_ONLY -> "EROFS";
                case NOT_PERMITTED -> "EPERM";
                case BUSY -> "EBUSY";
            };
        }
        if (e instanceof NoSuchFileException) {
            return "ENOENT";
        }
        if (e instanceof FileAlreadyExistsException) {
            return "EEXIST";
        }
        if (e instanceof DirectoryNotEmptyException) {
            return "ENOTEMPTY";
        }
        if (e instanceof NotDirectoryException) {
            return "ENOTDIR";
        }
        if (e instanceof AccessDeniedException) {
            return "EACCES";
        }
        return "EIO";
    }
}
