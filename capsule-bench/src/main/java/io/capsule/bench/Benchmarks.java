package io.capsule.bench;

import io.capsule.core.CapsuleEngine;
import io.capsule.core.Envelope;
import io.capsule.core.TaskHandle;
import io.capsule.core.TaskRequest;
import io.capsule.core.options.TaskDefaults;
import io.capsule.core.options.Units;
import io.capsule.python.PythonRuntime;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * End-to-end benchmarks of what users feel: warm start, imports, throughput, cold CLI and compute, each
 * printed beside a reference measured in the same run (native python3 on the same machine) and the ratio.
 * Speed is measured here, never in unit tests. Run with {@code bench/run} ({@code --quick} for fewer runs).
 */
public final class Benchmarks {
    private static final String TRIVIAL = "def main():\n    return 1\n";
    private static final String IMPORTS = "import json, dataclasses, typing, re\n\ndef main():\n    return 1\n";
    private static final String TRIVIAL_JS = "export function main() {\n  return 1;\n}\n";
    /** compute.py runs plain python3 too, so it declares no options: its fuel comes from the defaults. */
    private static final TaskDefaults HIGH_COMPUTE = new TaskDefaults(Units.FUEL_HIGH, null, null, null);

    private final Path root;
    private final boolean quick;
    /** With {@code --only=NAME}, the one figure to run (warm, warm-js, imports, throughput, compute, compute-js, fuel, cli). */
    private final String only;
    private final List<String[]> rows = new ArrayList<>();
    /** The tasks {@link #jitWarmUp} already warmed the engine's JIT up with. */
    private final Set<String> warmed = new HashSet<>();

    private Benchmarks(Path root, boolean quick, String only) {
        this.root = root;
        this.quick = quick;
        this.only = only;
    }

    public static void main(String[] args) throws Exception {
        Path root = Path.of(args.length > 0 ? args[0] : ".").toAbsolutePath().normalize();
        boolean quick = Arrays.asList(args).contains("--quick");
        String only = Arrays.stream(args).filter(a -> a.startsWith("--only=")).map(a -> a.substring(7)).findFirst()
                .orElse(null);
        new Benchmarks(root, quick, only).runAll();
    }

    private void runAll() throws Exception {
        System.out.printf(Locale.ROOT, "Capsule benchmarks on %d cores, %s%s%n", Runtime.getRuntime().availableProcessors(),
                System.getProperty("java.vm.name"), quick ? " (quick)" : "");
        double nativeStart = median(nativeRuns(quick ? 5 : 15, "python3", "-c", TRIVIAL + "main()\n"));
        try (CapsuleEngine engine = CapsuleEngine.builder().build()) {
            if (selected("warm")) {
                warmStart(engine, "Python `return 1`", "main.py", TRIVIAL, "python3 process", nativeStart);
            }
            if (selected("warm-js")) {
                double nodeStart = median(nativeRuns(quick ? 5 : 15, "node", "-e", "1"));
                warmStart(engine, "JS `return 1`", "main.mjs", TRIVIAL_JS, "node process", nodeStart);
            }
            if (selected("imports")) {
                imports(engine);
            }
            if (selected("throughput")) {
                throughput(engine, nativeStart);
            }
            if (selected("compute")) {
                compute(engine);
            }
            if (selected("compute-js")) {
                computeJs(engine);
            }
            if (selected("fuel")) {
                fuelOverhead(engine);
            }
        }
        if (selected("cli")) {
            coldCli();
        }
        print();
    }

    private boolean selected(String figure) {
        return only == null || only.equals(figure);
    }

    private void warmStart(CapsuleEngine engine, String what, String fileName, String source, String reference,
            double referenceMs) throws Exception {
        int n = quick ? 200 : 1000;
        int warmup = jitWarmUp(engine, fileName, source);
        double[] t = timeRuns(engine, fileName, source, 0, n);
        row("warm start p50 (" + what + ", after " + warmup + " warm-up runs)", ms(pct(t, 50)),
                reference + " " + ms(referenceMs), ratio(pct(t, 50), referenceMs), "<= 5 ms");
        row("warm start p99 (" + what + ")", ms(pct(t, 99)), "", "", "<= 20 ms");
    }

    /**
     * Runs the task in batches of 200 until the JIT has caught up (a batch's median within 10% of the one
     * before, after at least 3,000 runs; at most 8,000): a warm engine is one a service has been running
     * for a while, and HotSpot compiles the thousands of CPython functions a task passes through only
     * after they have run many times. Returns the number of runs.
     */
    private int jitWarmUp(CapsuleEngine engine, String fileName, String source) throws Exception {
        if (!warmed.add(fileName + "\0" + source)) {
            return 0; // this engine already ran it until warm
        }
        double previous = Double.MAX_VALUE;
        int runs = 0;
        while (runs < 8000) {
            double batch = median(timeRuns(engine, fileName, source, 0, 200));
            runs += 200;
            if (runs >= 3000 && Math.abs(batch - previous) < 0.1 * previous) {
                break;
            }
            previous = batch;
        }
        return runs;
    }

    private void imports(CapsuleEngine engine) throws Exception {
        int n = quick ? 100 : 300;
        // Both JIT-warm (the import statements' code paths are compiled only after they have run a while),
        // then alternating, so that both see the same JIT state and machine load.
        jitWarmUp(engine, "main.py", TRIVIAL);
        jitWarmUp(engine, "main.py", IMPORTS);
        double[] plainRuns = new double[n];
        double[] importRuns = new double[n];
        for (int i = 0; i < n; i++) {
            plainRuns[i] = timeRuns(engine, "main.py", TRIVIAL, 0, 1)[0];
            importRuns[i] = timeRuns(engine, "main.py", IMPORTS, 0, 1)[0];
        }
        double plain = median(plainRuns);
        double withImports = median(importRuns);
        row("start p50, task importing json/dataclasses/typing/re", ms(withImports), "task importing nothing " + ms(plain),
                ratio(withImports, plain), "~1.0x");
    }

    private void throughput(CapsuleEngine engine, double nativeStartMs) throws Exception {
        int n = quick ? 400 : 2000;
        int inFlight = 2 * Runtime.getRuntime().availableProcessors();
        jitWarmUp(engine, "main.py", TRIVIAL);
        long start = System.nanoTime();
        List<TaskHandle> window = new ArrayList<>();
        int failures = 0;
        for (int i = 0; i < n; i++) {
            window.add(engine.submit(TaskRequest.source("main.py", TRIVIAL).build()));
            if (window.size() >= inFlight) {
                failures += window.remove(0).envelope().success() ? 0 : 1;
            }
        }
        for (TaskHandle h : window) {
            failures += h.envelope().success() ? 0 : 1;
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        double perSecond = n / seconds;
        double nativePerSecond = Runtime.getRuntime().availableProcessors() * 1000.0 / nativeStartMs;
        row("throughput, trivial tasks, " + inFlight + " in flight", String.format(Locale.ROOT, "%.0f tasks/s", perSecond),
                String.format(Locale.ROOT, "python3 processes %.0f/s", nativePerSecond),
                ratio(perSecond, nativePerSecond), ">= 200 tasks/s" + (failures > 0 ? " (" + failures + " FAILED)" : ""));
    }

    private void compute(CapsuleEngine engine) throws Exception {
        compareCompute(engine, "bench/programs/compute.py", "python3", "<= 6x", "python3");
    }

    /** The same program under V8's interpreter: the JIT would make the comparison about JITs, not engines. */
    private void computeJs(CapsuleEngine engine) throws Exception {
        compareCompute(engine, "bench/programs/compute.mjs", "node --jitless", "<= 4x", "node", "--jitless");
    }

    /** Runs a program that reports its own {@code seconds} both in Capsule and natively, alternating. */
    private void compareCompute(CapsuleEngine engine, String file, String reference, String target, String... command)
            throws Exception {
        Path program = root.resolve(file);
        int n = quick ? 1 : 3;
        double[] inCapsule = new double[n];
        double[] natively = new double[n];
        String[] nativeCommand = Arrays.copyOf(command, command.length + 1);
        nativeCommand[command.length] = program.toString();
        double first = warmUp(engine, program);
        for (int i = 0; i < n; i++) {
            inCapsule[i] = computeMs(engine, program);
            String out = nativeOutput(nativeCommand);
            natively[i] = Double.parseDouble(out.replaceAll("(?s).*\"seconds\": ?([0-9.eE-]+).*", "$1").strip()) * 1000;
        }
        double c = median(inCapsule);
        double p = median(natively);
        row("compute, " + file + " (in-program time, JIT warm)", ms(c), reference + " " + ms(p), ratio(c, p), target);
        row("  the same, first run in this engine", ms(first), "", ratio(first, p), "");
    }

    /**
     * What fuel metering costs: the same CPU-heavy program on the metered runtime and on CPython exactly
     * as shipped (unmetered), alternating, each after a warm-up run, in-program time.
     */
    private void fuelOverhead(CapsuleEngine metered) throws Exception {
        Path program = root.resolve("bench/programs/compute.py");
        int n = quick ? 2 : 5;
        try (CapsuleEngine unmetered = CapsuleEngine.builder().runtime(PythonRuntime.unmetered()).build()) {
            warmUp(metered, program);
            warmUp(unmetered, program);
            double[] on = new double[n];
            double[] off = new double[n];
            for (int i = 0; i < n; i++) {
                off[i] = computeMs(unmetered, program);
                on[i] = computeMs(metered, program);
            }
            double m = median(on);
            double u = median(off);
            row("fuel metering, compute.py metered vs unmetered", ms(m), "unmetered " + ms(u), ratio(m, u), "<= 1.15x");
        }
    }

    /**
     * Runs the program until the JIT has caught up: at least 4 runs, then until the last 3 runs are all
     * within 10% of the best so far (at most 15 runs). HotSpot compiles the compiled interpreters' huge
     * eval loops late, and again after each deoptimisation, so the time keeps falling for several runs.
     * Returns the first time.
     */
    private static double warmUp(CapsuleEngine engine, Path program) throws Exception {
        List<Double> times = new ArrayList<>();
        double best = Double.MAX_VALUE;
        while (times.size() < 15) {
            double t = computeMs(engine, program);
            times.add(t);
            best = Math.min(best, t);
            int n = times.size();
            if (n >= 4) {
                double limit = 1.1 * best;
                if (times.get(n - 1) <= limit && times.get(n - 2) <= limit && times.get(n - 3) <= limit) {
                    break;
                }
            }
        }
        return times.get(0);
    }

    private static double computeMs(CapsuleEngine engine, Path program) throws Exception {
        Envelope e = engine.run(TaskRequest.file(program).defaults(HIGH_COMPUTE).build());
        if (!e.success()) {
            throw new IllegalStateException("compute benchmark failed: " + e.toJson());
        }
        return e.result().get("seconds").asDouble() * 1000;
    }

    private void coldCli() throws Exception {
        int n = quick ? 2 : 5;
        double[] cli = new double[n];
        for (int i = 0; i < n; i++) {
            long s = System.nanoTime();
            nativeOutput(root.resolve("capsule").toString(), "run", root.resolve("examples/hello/main.py").toString(), "--json");
            cli[i] = (System.nanoTime() - s) / 1e6;
        }
        double reference = median(nativeRuns(n, "python3", "-c", "pass"));
        row("cold CLI, ./capsule run examples/hello/main.py", ms(median(cli)), "python3 -c pass " + ms(reference),
                ratio(median(cli), reference), "<= 1000 ms");
    }

    private static double[] timeRuns(CapsuleEngine engine, String fileName, String source, int warmup, int n)
            throws Exception {
        for (int i = 0; i < warmup; i++) {
            engine.run(TaskRequest.source(fileName, source).build());
        }
        double[] t = new double[n];
        for (int i = 0; i < n; i++) {
            long s = System.nanoTime();
            Envelope e = engine.run(TaskRequest.source(fileName, source).build());
            t[i] = (System.nanoTime() - s) / 1e6;
            if (!e.success()) {
                throw new IllegalStateException("benchmark task failed: " + e.toJson());
            }
        }
        return t;
    }

    private static double[] nativeRuns(int n, String... command) throws Exception {
        double[] t = new double[n];
        for (int i = 0; i < n; i++) {
            long s = System.nanoTime();
            nativeOutput(command);
            t[i] = (System.nanoTime() - s) / 1e6;
        }
        return t;
    }

    private static String nativeOutput(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
        }
        return out;
    }

    private static double pct(double[] values, int percentile) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int index = (int) Math.ceil(percentile / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }

    private static double median(double[] values) {
        return pct(values, 50);
    }

    private static String ms(double v) {
        return String.format(Locale.ROOT, v < 10 ? "%.2f ms" : "%.0f ms", v);
    }

    private static String ratio(double a, double b) {
        return String.format(Locale.ROOT, "%.2fx", a / b);
    }

    private void row(String... cells) {
        rows.add(cells);
        System.out.println("  measured: " + String.join(" | ", cells));
    }

    private void print() {
        String[] head = {"figure", "capsule", "reference (same run)", "ratio", "target"};
        int[] w = new int[head.length];
        for (String[] r : rows) {
            for (int i = 0; i < r.length; i++) {
                w[i] = Math.max(w[i], Math.max(r[i].length(), head[i].length()));
            }
        }
        System.out.println();
        printRow(head, w);
        for (String[] r : rows) {
            printRow(r, w);
        }
    }

    private static void printRow(String[] r, int[] w) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < r.length; i++) {
            b.append(String.format("%-" + w[i] + "s", r[i])).append(i < r.length - 1 ? "  " : "");
        }
        System.out.println(b.toString().stripTrailing());
    }

}
