package io.capsule.cli;

import io.capsule.wasm.SnapshotCache;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.sqlite.SQLiteJDBCLoader;
import org.sqlite.util.LibraryLoaderUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Points sqlite-jdbc (the trace's SQLite) at a copy of its native library kept in the cache directory.
 * Left alone, sqlite-jdbc inflates the library from its jar into a new temporary file and reads it back
 * on every start: about 0.1 s of a cold run. A library that fails to load from the copy makes sqlite-jdbc
 * fall back to doing exactly that.
 */
final class SqliteNative {
    private static final Logger LOG = LoggerFactory.getLogger(SqliteNative.class);
    /** sqlite-jdbc's setting for the directory its native library is loaded from. */
    private static final String LIB_PATH = "org.sqlite.lib.path";
    private static final String RESOURCE_ROOT = "/org/sqlite/native/";

    private SqliteNative() {}

    /** Sets {@code org.sqlite.lib.path} to the cached copy, extracting it first if needed; never fails. */
    static void useCachedCopy() {
        if (System.getProperty(LIB_PATH) != null) {
            return; // the user's choice
        }
        try {
            String folder = LibraryLoaderUtil.getNativeLibResourcePath();
            String name = LibraryLoaderUtil.getNativeLibName();
            if (!folder.startsWith(RESOURCE_ROOT)) {
                return;
            }
            // Named by sqlite-jdbc's version and platform: a new sqlite-jdbc gets a new copy.
            Path dir = SnapshotCache.directory().resolve("native").resolve("sqlite-jdbc-" + SQLiteJDBCLoader.getVersion()
                    + "-" + folder.substring(RESOURCE_ROOT.length()).replace('/', '-'));
            Path lib = dir.resolve(name);
            if (Files.isRegularFile(lib) || extract(folder + "/" + name, lib)) {
                System.setProperty(LIB_PATH, dir.toString());
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("sqlite-jdbc extracts its native library itself: {}", e.toString());
        }
    }

    /** Copies the library out of the jar, published with an atomic rename; false when the jar has none. */
    private static boolean extract(String resource, Path lib) throws IOException {
        try (InputStream in = SQLiteJDBCLoader.class.getResourceAsStream(resource)) {
            if (in == null) {
                return false;
            }
            Files.createDirectories(lib.getParent());
            Path tmp = Files.createTempFile(lib.getParent(), lib.getFileName().toString(), ".tmp");
            try {
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                Files.move(tmp, lib, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(tmp);
            }
            return true;
        }
    }
}
