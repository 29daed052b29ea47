package io.capsule.wasm;

import com.dylibso.chicory.runtime.ExportFunction;
import com.dylibso.chicory.runtime.HostFunction;
import com.dylibso.chicory.runtime.ImportValues;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.wasi.WasiOptions;
import com.dylibso.chicory.wasi.WasiPreview1;
import com.dylibso.chicory.wasm.types.MemoryLimits;
import io.capsule.wasm.fs.Errno;
import io.capsule.wasm.fs.GuestFileSystem;
import io.capsule.wasm.fs.JailFileSystem;
import io.capsule.wasm.fuel.FuelMeter;
import java.io.OutputStream;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * One fresh instance of a {@link WasmTemplate} with its own WASI state, memory cap and host channel.
 * Never reused: every task attempt builds a new one.
 */
public final class Sandbox implements AutoCloseable {
    /** The largest memory a wasm32 instance can address. */
    public static final int MAX_PAGES = 65536;
    private static final int STDIN = 0;
    /** Seeding a SecureRandom costs milliseconds; one thread-safe instance serves every sandbox. */
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Instance instance;
    private final CappedMemory memory;
    private final WasiPreview1 wasi;
    private final FuelMeter fuel;

    private Sandbox(Instance instance, CappedMemory memory, WasiPreview1 wasi, FuelMeter fuel) {
        this.instance = instance;
        this.memory = memory;
        this.wasi = wasi;
        this.fuel = fuel;
    }

    public static Builder builder(WasmTemplate template) {
        return new Builder(template);
    }

    public Instance instance() {
        return instance;
    }

    public CappedMemory memory() {
        return memory;
    }

    /**
     * An export of the instance. With a fuel budget, calls through it charge this sandbox's meter (on
     * the calling thread) and throw {@link io.capsule.wasm.fuel.FuelExhaustedException} once it is spent.
     */
    public ExportFunction export(String name) {
        ExportFunction f = instance.export(name);
        if (fuel == null) {
            return f;
        }
        return args -> {
            try (FuelMeter.Scope charged = fuel.enter()) {
                return f.apply(args);
            }
        };
    }

    /**
     * An export whose calls are not charged to the fuel budget: for the runtime's own work before a task's
     * code runs (the time limit still applies).
     */
    public ExportFunction unchargedExport(String name) {
        return instance.export(name);
    }

    /** The fuel meter, or null when the sandbox was built without a budget. */
    public FuelMeter fuelMeter() {
        return fuel;
    }

    /** Fuel consumed by calls through {@link #export} so far, or null when not metered. */
    public Long fuelConsumed() {
        return fuel == null ? null : fuel.consumed();
    }

    @Override
    public void close() {
        wasi.close();
    }

    public static final class Builder {
        private final WasmTemplate template;
        private Path guestRoot;
        private String guestRootName = "/guest";
        private OutputStream stdout = OutputStream.nullOutputStream();
        private OutputStream stderr = OutputStream.nullOutputStream();
        private HostChannel channel;
        private long memoryCapBytes = (long) MAX_PAGES * CappedMemory.PAGE_SIZE;
        private final List<HostFunction> extra = new ArrayList<>();
        private Snapshot snapshot;
        private long fuelBudget;

        private Builder(WasmTemplate template) {
            this.template = Objects.requireNonNull(template);
        }

        /**
         * The directory the guest sees as {@code name} (the only preopened directory): a host directory
         * (read-only), or the root of a {@link JailFileSystem} (the jail decides what may be written).
         */
        public Builder guestRoot(String name, Path hostDir) {
            this.guestRootName = name;
            this.guestRoot = hostDir;
            return this;
        }

        public Builder stdout(OutputStream out) {
            this.stdout = out;
            return this;
        }

        public Builder stderr(OutputStream err) {
            this.stderr = err;
            return this;
        }

        /** Serves the guest's host calls (one request line in, one response line out, on fd 0). */
        public Builder hostChannel(UnaryOperator<String> handler) {
            this.channel = new HostChannel(handler);
            return this;
        }

        public Builder memoryCap(long bytes) {
            this.memoryCapBytes = bytes;
            return this;
        }

        /** Start from this snapshot (memory and globals) instead of the module's initial state. */
        public Builder snapshot(Snapshot snapshot) {
            this.snapshot = snapshot;
            return this;
        }

        /**
         * Meters the guest: calls through {@link Sandbox#export} stop with a
         * {@link io.capsule.wasm.fuel.FuelExhaustedException} after {@code budget} fuel units. The
         * template must be {@linkplain WasmTemplate#metered metered}.
         */
        public Builder fuel(long budget) {
            if (!template.isMetered()) {
                throw new IllegalStateException("template " + template.name() + " has no fuel metering");
            }
            if (budget < 1) {
                throw new IllegalArgumentException("fuel budget must be positive, got " + budget);
            }
            this.fuelBudget = budget;
            return this;
        }

        public Builder hostFunction(HostFunction f) {
            extra.add(f);
            return this;
        }

        /**
         * Builds the instance. Fails with {@link IllegalArgumentException} when the cap is below the memory
         * the module needs to start.
         */
        public Sandbox build() {
            int initial = snapshot == null ? template.initialPages() : Math.max(template.initialPages(), snapshot.pageCount());
            int cap = CappedMemory.pagesFor(memoryCapBytes);
            if (cap < initial) {
                throw new IllegalArgumentException("needs at least " + ((long) initial * CappedMemory.PAGE_SIZE >> 20)
                        + "MB of memory to start");
            }
            WasiOptions.Builder opts = WasiOptions.builder().withStdout(stdout).withStderr(stderr).withRandom(RANDOM);
            if (guestRoot != null) {
                opts.withDirectory(guestRootName, guestRoot);
            }
            WasiPreview1 wasi = WasiPreview1.builder().withOptions(opts.build()).build();
            List<HostFunction> functions = new ArrayList<>();
            List<HostFunction> guarded = guestRoot != null && guestRoot.getFileSystem() instanceof JailFileSystem
                    ? GuestFileSystem.jailed(wasi.toHostFunctions())
                    : GuestFileSystem.guard(wasi.toHostFunctions());
            for (HostFunction f : guarded) {
                functions.add(channel == null ? f : routeStdin(f, channel));
            }
            functions.addAll(extra);
            CappedMemory[] memory = new CappedMemory[1];
            Instance instance = Instance.builder(template.module())
                    .withMachineFactory(template.machineFactory())
                    .withImportValues(ImportValues.builder().addFunction(functions.toArray(HostFunction[]::new)).build())
                    .withMemoryLimits(new MemoryLimits(initial, MAX_PAGES))
                    .withMemoryFactory(limits -> memory[0] = new CappedMemory(limits, cap, snapshot))
                    .build();
            if (snapshot != null) {
                snapshot.restoreGlobals(instance);
            }
            FuelMeter meter = fuelBudget > 0 ? new FuelMeter(fuelBudget, template.fuelPerCheckpoint()) : null;
            return new Sandbox(instance, memory[0], wasi, meter);
        }

        /** fd 0 carries the host channel instead of stdin. */
        private static HostFunction routeStdin(HostFunction f, HostChannel channel) {
            switch (f.name()) {
                case "fd_write":
                    return GuestFileSystem.wrap(f, (instance, args) -> {
                        if (args[0] != STDIN) {
                            return null;
                        }
                        var mem = instance.memory();
                        int iovs = (int) args[1];
                        int total = 0;
                        for (int i = 0; i < (int) args[2]; i++) {
                            int ptr = mem.readInt(iovs + 8 * i);
                            int len = mem.readInt(iovs + 8 * i + 4);
                            if (!channel.write(mem.readBytes(ptr, len))) {
                                return Errno.result(Errno.TOO_BIG);
                            }
                            total += len;
                        }
                        mem.writeI32((int) args[3], total);
                        return Errno.result(Errno.SUCCESS);
                    });
                case "fd_read":
                    return GuestFileSystem.wrap(f, (instance, args) -> {
                        if (args[0] != STDIN) {
                            return null;
                        }
                        var mem = instance.memory();
                        int iovs = (int) args[1];
                        int total = 0;
                        for (int i = 0; i < (int) args[2]; i++) {
                            int ptr = mem.readInt(iovs + 8 * i);
                            int len = mem.readInt(iovs + 8 * i + 4);
                            byte[] chunk = channel.read(len);
                            mem.write(ptr, chunk);
                            total += chunk.length;
                            if (chunk.length < len) {
                                break;
                            }
                        }
                        mem.writeI32((int) args[3], total);
                        return Errno.result(Errno.SUCCESS);
                    });
                default:
                    return f;
            }
        }
    }
}
