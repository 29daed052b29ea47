package io.capsule.core.project;

import io.capsule.core.options.InvalidTaskException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Predicate;

/**
 * The source files of a project, read once: their bytes and a digest over names and contents. The digest
 * is the cache key of whatever a runtime prepares from them, and the bytes are what it prepares from, so
 * a prepared entry always matches its key even if a file changes during the run.
 *
 * @param root the project directory
 * @param files the sources, sorted by path
 * @param digest SHA-256 over every file's relative path and content
 */
public record ProjectSources(Path root, List<SourceFile> files, String digest) {
    public static final int MAX_FILES = 5000;
    public static final long MAX_BYTES = 64L << 20;

    /** One source file; {@code path} is relative to the project root and uses '/' separators. */
    public record SourceFile(String path, byte[] content) {}

    /**
     * Reads the files under {@code root} that {@code isSource} accepts (given their relative path), skipping
     * hidden directories (so {@code .capsule/} and {@code .git/}), {@code __pycache__}, {@code node_modules}
     * and virtualenvs.
     */
    public static ProjectSources scan(Path root, Predicate<Path> isSource) {
        List<SourceFile> files = new ArrayList<>();
        if (Files.isDirectory(root)) {
            long[] budget = {MAX_FILES, MAX_BYTES};
            try {
                Files.walkFileTree(root, new SimpleFileVisitor<>() {
                    @Override
                    public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) {
                        String name = d.getFileName() == null ? "" : d.getFileName().toString();
                        boolean skip = !d.equals(root) && (name.startsWith(".") || name.equals("__pycache__")
                                || name.equals("node_modules") || Files.exists(d.resolve("pyvenv.cfg")));
                        return skip ? FileVisitResult.SKIP_SUBTREE : FileVisitResult.CONTINUE;
                    }

                    @Override
                    public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) throws IOException {
                        Path rel = root.relativize(f);
                        if (attrs.isRegularFile() && isSource.test(rel)) {
                            budget[0]--;
                            budget[1] -= attrs.size();
                            if (budget[0] < 0 || budget[1] < 0) {
                                throw new InvalidTaskException("The project at " + root + " has more sources than "
                                        + MAX_FILES + " files or " + (MAX_BYTES >> 20) + "MB; run from a smaller directory");
                            }
                            files.add(new SourceFile(rel.toString().replace('\\', '/'), Files.readAllBytes(f)));
                        }
                        return FileVisitResult.CONTINUE;
                    }
                });
            } catch (IOException e) {
                throw new InvalidTaskException("Cannot read the project's sources under " + root + ": " + e);
            }
        }
        files.sort(Comparator.comparing(SourceFile::path));
        MessageDigest sha = sha256();
        for (SourceFile f : files) {
            byte[] name = f.path().getBytes(StandardCharsets.UTF_8);
            sha.update(longBytes(name.length));
            sha.update(name);
            sha.update(longBytes(f.content().length));
            sha.update(f.content());
        }
        return new ProjectSources(root, List.copyOf(files), HexFormat.of().formatHex(sha.digest()));
    }

    /** Writes the sources under {@code dir}, keeping their relative paths. */
    public void writeTo(Path dir) throws IOException {
        for (SourceFile f : files) {
            Path target = dir.resolve(f.path());
            Files.createDirectories(target.getParent());
            Files.write(target, f.content());
        }
    }

    public boolean contains(Path relative) {
        String p = relative.normalize().toString().replace('\\', '/');
        return files.stream().anyMatch(f -> f.path().equals(p));
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] longBytes(long v) {
        byte[] b = new byte[8];
        for (int i = 7; i >= 0; i--) {
            b[i] = (byte) v;
            v >>>= 8;
        }
        return b;
    }
}
