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
}
