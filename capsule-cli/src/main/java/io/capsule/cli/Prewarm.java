package io.capsule.cli;

import io.capsule.core.spi.GuestRuntime;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ServiceLoader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives {@code capsule run FILE} a head start: loads FILE's runtime (interpreter and warm-start snapshot)
 * on a background thread while the main thread parses the command line, reads capsule.toml and opens
 * the trace. The run itself is unchanged; its first task just finds the runtime (partly) loaded.
 */
final class Prewarm {
    private static final Logger LOG = LoggerFactory.getLogger(Prewarm.class);

    private Prewarm() {}

    /**
     * Starts warming the runtime of the first argument of {@code run} that is an existing file some runtime
     * accepts; does nothing for other commands. A guess that turns out wrong (an option's value that names
     * a program) only costs the work.
     */
    static void start(String... args) {
        GuestRuntime runtime = runtimeFor(args);
        if (runtime != null) {
            Thread t = new Thread(() -> warm(runtime), "capsule-prewarm");
            t.setDaemon(true);
            t.start();
        }
    }

    /** The runtime {@link #start} warms for this command line, or null. */
    static GuestRuntime runtimeFor(String... args) {
        if (args.length < 2 || !"run".equals(args[0])) {
            return null;
        }
        for (int i = 1; i < args.length; i++) {
            String arg = args[i];
            if (arg.startsWith("-") || !Files.isRegularFile(Path.of(arg))) {
                continue;
            }
            for (GuestRuntime runtime : ServiceLoader.load(GuestRuntime.class)) {
                if (runtime.accepts(Path.of(arg).getFileName().toString())) {
                    return runtime;
                }
            }
        }
        return null;
    }

    private static void warm(GuestRuntime runtime) {
        try {
            runtime.warmUp();
        } catch (Throwable t) {
            // The run then fails as an envelope, but without this cause: the JVM reports a failed class
            // initialisation with its cause only to the thread that ran it.
            LOG.warn("Loading the {} runtime failed", runtime.name(), t);
        }
    }
}
