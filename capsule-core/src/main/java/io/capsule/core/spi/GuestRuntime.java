package io.capsule.core.spi;

import io.capsule.core.options.InvalidTaskException;

/**
 * A guest language (Python, JavaScript): turns a program's source into a {@link Program} whose tasks run
 * in fresh sandbox instances. Implementations are found with {@link java.util.ServiceLoader}.
 */
public interface GuestRuntime {
    /** Short name used in messages and requests: "python", "javascript". */
    String name();

    /** Whether this runtime runs files with this name (by extension). */
    boolean accepts(String fileName);

    /** Prepares a program; the expensive shared parts (parsed module, compiled code) are cached by the runtime. */
    Program load(ProgramSource source) throws InvalidTaskException;

    /**
     * Whether a program loaded from {@code source} depends on nothing but the source itself (no files on
     * disk), so the engine may keep it loaded and reuse it for identical requests.
     */
    default boolean reusable(ProgramSource source) {
        return false;
    }

    /** Whether a project file (path relative to the project root) is one of this runtime's sources. */
    default boolean isSource(java.nio.file.Path relativePath) {
        return accepts(relativePath.getFileName().toString());
    }

    /**
     * The version of what {@link #prepare} writes (change it whenever that output would change, e.g. with
     * a new harness or transpiler), or null when this runtime does not prepare programs ahead of time.
     */
    default String preparedFormat() {
        return null;
    }

    /**
     * Writes everything needed to run the program into the empty directory {@code dir}, from the
     * project's {@code sources} (read once, so the result matches the cache key made from them). What is
     * written must be enough for {@link #loadPrepared} without any source toolchain.
     */
    default void prepare(ProgramSource source, io.capsule.core.project.ProjectSources sources, java.nio.file.Path dir)
            throws java.io.IOException {
        throw new UnsupportedOperationException(name() + " does not prepare programs");
    }

    /**
     * Loads a program from a directory {@link #prepare} wrote. The directory belongs to the caller (a
     * cache entry or an extracted artifact) and must not be changed. {@code source} gives the entry file
     * and the project root that relative paths in options resolve against.
     */
    default Program loadPrepared(ProgramSource source, java.nio.file.Path dir) throws InvalidTaskException {
        throw new UnsupportedOperationException(name() + " does not prepare programs");
    }

    /**
     * Whether a prepared directory (a cache entry that matches its key) still matches the files outside the
     * project's sources that {@link #prepare} read, such as packages in {@code node_modules}; the engine
     * rebuilds an entry that is not. {@code source} is the program the entry was prepared for.
     */
    default boolean isCurrent(ProgramSource source, java.nio.file.Path dir) {
        return true;
    }

    /**
     * Loads now what every program of this runtime needs (interpreter, warm-start snapshot), which the first
     * {@link #load} would otherwise do: lets a caller overlap that with its own start-up, e.g. on a
     * background thread. Only a head start: the first program still waits for whatever is unfinished.
     */
    default void warmUp() {}
}
