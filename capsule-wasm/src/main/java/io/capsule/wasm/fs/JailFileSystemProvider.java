package io.capsule.wasm.fs;

import io.capsule.core.policy.FileAccessException;
import io.capsule.core.policy.FileAccessException.Reason;
import java.io.IOException;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.AccessMode;
import java.nio.file.CopyOption;
import java.nio.file.DirectoryStream;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NotLinkException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileAttributeView;
import java.nio.file.attribute.FileTime;
import java.nio.file.spi.FileSystemProvider;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Every file operation on a {@link JailFileSystem}: resolves the path under the policy, then performs
 * the operation on the host path without following links. Refusals are {@link FileAccessException}s
 * (unchecked, so that WASI does not turn them into a generic I/O error; {@link GuestFileSystem} maps them
 * to errno values); a missing file is the usual {@link java.nio.file.NoSuchFileException}.
 */
final class JailFileSystemProvider extends FileSystemProvider {
    static final String SCHEME = "capsule-jail";

    private final JailFileSystem fs;

    JailFileSystemProvider(JailFileSystem fs) {
        this.fs = fs;
    }

    private JailFileSystem.Target target(Path p, boolean write) throws IOException {
        return fs.resolve(jailed(p), write);
    }

    /** For operations that never follow the final component. */
    private JailFileSystem.Target entry(Path p, boolean write) throws IOException {
        return fs.resolveNoFollow(jailed(p), write);
    }

    private Path jailed(Path p) {
        if (!(p instanceof JailPath j) || j.getFileSystem() != fs) {
            throw new FileAccessException(Reason.DENIED, "path outside the sandbox");
        }
        return p;
    }

    @Override
    public String getScheme() {
        return SCHEME;
    }

    @Override
    public FileSystem newFileSystem(URI uri, Map<String, ?> env) {
        throw new UnsupportedOperationException();
    }

    @Override
    public FileSystem getFileSystem(URI uri) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Path getPath(URI uri) {
        throw new UnsupportedOperationException();
    }

    @Override
    public SeekableByteChannel newByteChannel(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
            throws IOException {
        return newFileChannel(path, options, attrs);
    }

    @Override
    public FileChannel newFileChannel(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
            throws IOException {
        boolean write = options.contains(StandardOpenOption.WRITE) || options.contains(StandardOpenOption.APPEND);
        Set<OpenOption> opts = new HashSet<>(options);
        opts.add(LinkOption.NOFOLLOW_LINKS);
        return FileChannel.open(target(path, write).host(), opts, attrs);
    }

    @Override
    public DirectoryStream<Path> newDirectoryStream(Path dir, DirectoryStream.Filter<? super Path> filter) throws IOException {
        DirectoryStream<Path> host = Files.newDirectoryStream(target(dir, false).host());
        return new DirectoryStream<>() {
            @Override
            public Iterator<Path> iterator() {
                Iterator<Path> it = host.iterator();
                List<Path> out = new ArrayList<>();
                while (it.hasNext()) {
                    Path p = dir.resolve(it.next().getFileName().toString());
                    try {
                        if (filter == null || filter.accept(p)) {
                            out.add(p);
                        }
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }
                return out.iterator();
            }

            @Override
            public void close() throws IOException {
                host.close();
            }
        };
    }

    @Override
    public void createDirectory(Path dir, FileAttribute<?>... attrs) throws IOException {
        Files.createDirectory(target(dir, true).host(), attrs);
    }

    @Override
    public void createSymbolicLink(Path link, Path target, FileAttribute<?>... attrs) {
        throw new FileAccessException(Reason.NOT_PERMITTED, "symbolic links cannot be created in the sandbox");
    }

    @Override
    public void createLink(Path link, Path existing) {
        throw new FileAccessException(Reason.NOT_PERMITTED, "hard links cannot be created in the sandbox");
    }

    @Override
    public void delete(Path path) throws IOException {
        JailFileSystem.Target t = entry(path, true);
        if (t.mountRoot()) {
            throw new FileAccessException(Reason.BUSY, "an allowed directory itself cannot be removed");
        }
        Files.delete(t.host());
    }

    @Override
    public Path readSymbolicLink(Path link) throws IOException {
        if (Files.isSymbolicLink(entry(link, false).host())) {
            throw new FileAccessException(Reason.DENIED, "symbolic links are not followed in the sandbox: " + link);
        }
        throw new NotLinkException(link.toString());
    }

    @Override
    public void copy(Path source, Path target, CopyOption... options) throws IOException {
        Path from = target(source, false).host();
        JailFileSystem.Target to = target(target, true);
        if (to.mountRoot()) {
            throw new FileAccessException(Reason.BUSY, "an allowed directory itself cannot be replaced");
        }
        Files.copy(from, to.host(), noFollow(options));
    }

    @Override
    public void move(Path source, Path target, CopyOption... options) throws IOException {
        JailFileSystem.Target from = entry(source, true);
        JailFileSystem.Target to = target(target, true);
        if (from.mountRoot() || to.mountRoot()) {
            throw new FileAccessException(Reason.BUSY, "an allowed directory itself cannot be renamed or replaced");
        }
        // A rename(2): atomic, replaces the target, never follows either name. (WASI asks for
        // COPY_ATTRIBUTES too, which the default provider refuses for moves.)
        Files.move(from.host(), to.host(), StandardCopyOption.ATOMIC_MOVE);
    }

    private static CopyOption[] noFollow(CopyOption[] options) {
        CopyOption[] out = Arrays.copyOf(options, options.length + 1);
        out[options.length] = LinkOption.NOFOLLOW_LINKS;
        return out;
    }

    @Override
    public boolean isSameFile(Path path, Path path2) throws IOException {
        return Files.isSameFile(target(path, false).host(), target(path2, false).host());
    }

    @Override
    public boolean isHidden(Path path) {
        Path name = path.getFileName();
        return name != null && name.toString().startsWith(".");
    }

    @Override
    public FileStore getFileStore(Path path) {
        throw new UnsupportedOperationException("no file stores in the sandbox");
    }

    @Override
    public void checkAccess(Path path, AccessMode... modes) throws IOException {
        boolean write = Arrays.asList(modes).contains(AccessMode.WRITE);
        Path host = target(path, write).host();
        host.getFileSystem().provider().checkAccess(host, modes);
    }

    @Override
    @SuppressWarnings("unchecked")
    public <V extends FileAttributeView> V getFileAttributeView(Path path, Class<V> type, LinkOption... options) {
        if (type != BasicFileAttributeView.class) {
            return null;
        }
        return (V) new BasicFileAttributeView() {
            @Override
            public String name() {
                return "basic";
            }

            @Override
            public BasicFileAttributes readAttributes() throws IOException {
                return JailFileSystemProvider.this.readAttributes(path, BasicFileAttributes.class);
            }

            @Override
            public void setTimes(FileTime lastModified, FileTime lastAccess, FileTime create) throws IOException {
                Files.getFileAttributeView(target(path, true).host(), BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                        .setTimes(lastModified, lastAccess, create);
            }
        };
    }

    @Override
    public <A extends BasicFileAttributes> A readAttributes(Path path, Class<A> type, LinkOption... options)
            throws IOException {
        return Files.readAttributes(entry(path, false).host(), type, LinkOption.NOFOLLOW_LINKS);
    }

    @Override
    public Map<String, Object> readAttributes(Path path, String attributes, LinkOption... options) throws IOException {
        return Files.readAttributes(entry(path, false).host(), attributes, LinkOption.NOFOLLOW_LINKS);
    }

    @Override
    public void setAttribute(Path path, String attribute, Object value, LinkOption... options) throws IOException {
        Files.setAttribute(target(path, true).host(), attribute, value, LinkOption.NOFOLLOW_LINKS);
    }
}
