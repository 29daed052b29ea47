package io.capsule.wasm.fs;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.ProviderMismatchException;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.Objects;

/**
 * A path in a {@link JailFileSystem}: a purely virtual "/"-separated name (held as a default-file-system
 * path used only for its syntax, never for I/O). All I/O goes through {@link JailFileSystemProvider},
 * which maps it to a host path under the policy.
 */
final class JailPath implements Path {
    private final JailFileSystem fs;
    private final Path v;

    JailPath(JailFileSystem fs, Path virtual) {
        this.fs = fs;
        this.v = virtual;
    }

    Path virtual() {
        return v;
    }

    private JailPath wrap(Path p) {
        return p == null ? null : new JailPath(fs, p);
    }

    private Path unwrap(Path other) {
        if (!(other instanceof JailPath j) || j.fs != fs) {
            throw new ProviderMismatchException();
        }
        return j.v;
    }

    @Override
    public JailFileSystem getFileSystem() {
        return fs;
    }

    @Override
    public boolean isAbsolute() {
        return v.isAbsolute();
    }

    @Override
    public Path getRoot() {
        return wrap(v.getRoot());
    }

    @Override
    public Path getFileName() {
        return wrap(v.getFileName());
    }

    @Override
    public Path getParent() {
        return wrap(v.getParent());
    }

    @Override
    public int getNameCount() {
        return v.getNameCount();
    }

    @Override
    public Path getName(int index) {
        return wrap(v.getName(index));
    }

    @Override
    public Path subpath(int beginIndex, int endIndex) {
        return wrap(v.subpath(beginIndex, endIndex));
    }

    @Override
    public boolean startsWith(Path other) {
        return other instanceof JailPath j && j.fs == fs && v.startsWith(j.v);
    }

    @Override
    public boolean endsWith(Path other) {
        return other instanceof JailPath j && j.fs == fs && v.endsWith(j.v);
    }

    @Override
    public Path normalize() {
        return wrap(v.normalize());
    }

    @Override
    public Path resolve(Path other) {
        return wrap(v.resolve(unwrap(other)));
    }

    @Override
    public Path relativize(Path other) {
        return wrap(v.relativize(unwrap(other)));
    }

    @Override
    public URI toUri() {
        try {
            return new URI(JailFileSystemProvider.SCHEME, null, toAbsolutePath().toString(), null);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public Path toAbsolutePath() {
        return v.isAbsolute() ? this : wrap(fs.rootVirtual().resolve(v));
    }

    /** The jail shows no links, so the real path is the normalised absolute one. */
    @Override
    public Path toRealPath(LinkOption... options) {
        return wrap(fs.rootVirtual().resolve(v).normalize());
    }

    @Override
    public WatchKey register(WatchService watcher, WatchEvent.Kind<?>[] events, WatchEvent.Modifier... modifiers) {
        throw new UnsupportedOperationException("no watch service in the sandbox");
    }

    @Override
    public int compareTo(Path other) {
        return v.compareTo(unwrap(other));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof JailPath j && j.fs == fs && j.v.equals(v);
    }

    @Override
    public int hashCode() {
        return Objects.hash(System.identityHashCode(fs), v);
    }

    @Override
    public String toString() {
        return v.toString();
    }
}
