package io.capsule.cli;

import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code capsule} command: a thin shell over the Java API. */
@Command(
        name = "capsule",
        mixinStandardHelpOptions = true,
        version = "capsule 0.1.0",
        description = "Runs untrusted Python and TypeScript/JavaScript tasks in WebAssembly sandboxes.")
public final class CapsuleCli implements Runnable {
    /** Exit status for usage and configuration errors. */
    static final int EXIT_USAGE = 2;

    /**
     * The subcommands, in help order. Picocli builds a command's model by reflection, a noticeable part of
     * a cold start, so a command line naming one of them gets only that one (see {@link #execute}).
     */
    private static final Map<String, Class<?>> SUBCOMMANDS = subcommands(
            RunCommand.class, BuildCommand.class, ExecCommand.class, TraceCommand.class, WorkerCommand.class);

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    final PrintStream out;
    final PrintStream err;
    final InputStream in;

    CapsuleCli(PrintStream out, PrintStream err) {
        this(System.in, out, err);
    }

    CapsuleCli(InputStream in, PrintStream out, PrintStream err) {
        this.in = in;
        this.out = out;
        this.err = err;
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "Missing command: try 'capsule run FILE'");
    }

    public static void main(String[] args) {
        Prewarm.start(args);
        SqliteNative.useCachedCopy();
        System.exit(execute(System.out, System.err, args));
    }

    private static Map<String, Class<?>> subcommands(Class<?>... commands) {
        Map<String, Class<?>> byName = new LinkedHashMap<>();
        for (Class<?> c : commands) {
            byName.put(c.getAnnotation(Command.class).name(), c);
        }
        return byName;
    }

    /** Runs the CLI and returns its exit status (used by tests, which cannot let it exit the JVM). */
    public static int execute(PrintStream out, PrintStream err, String... args) {
        return execute(System.in, out, err, args);
    }

    /** As {@link #execute(PrintStream, PrintStream, String...)}, reading standard input from {@code in} (the worker). */
    public static int execute(InputStream in, PrintStream out, PrintStream err, String... args) {
        CommandLine cli = new CommandLine(new CapsuleCli(in, out, err));
        Class<?> named = args.length > 0 ? SUBCOMMANDS.get(args[0]) : null;
        for (Class<?> sub : named != null ? List.of(named) : SUBCOMMANDS.values()) {
            cli.addSubcommand(sub);
        }
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        cli.setExitCodeExceptionMapper(e -> EXIT_USAGE);
        cli.setParameterExceptionHandler((e, a) -> {
            e.getCommandLine().getErr().println("capsule: " + e.getMessage());
            e.getCommandLine().getErr().println("Try 'capsule --help'.");
            return EXIT_USAGE;
        });
        return cli.execute(args);
    }
}
