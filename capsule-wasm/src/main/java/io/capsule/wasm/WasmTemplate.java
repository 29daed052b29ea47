package io.capsule.wasm;

import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.runtime.Machine;
import com.dylibso.chicory.wasm.WasmModule;
import java.util.Objects;
import java.util.function.Function;

/**
 * A prepared, shareable guest module: the parsed module and the factory of its compiled machine. Built
 * once per process and shared by every {@link Sandbox}; each sandbox is a fresh instance of it.
 */
public final class WasmTemplate {
    private final String name;
    private final WasmModule module;
    private final Function<Instance, Machine> machineFactory;
    /** Fuel units per checkpoint of a metered machine (see io.capsule.wasm.fuel), 0 when not metered. */
    private final double fuelPerCheckpoint;

    public WasmTemplate(String name, WasmModule module, Function<Instance, Machine> machineFactory) {
        this(name, module, machineFactory, 0);
    }

    private WasmTemplate(String name, WasmModule module, Function<Instance, Machine> machineFactory,
            double fuelPerCheckpoint) {
        this.name = Objects.requireNonNull(name);
        this.module = Objects.requireNonNull(module);
        this.machineFactory = Objects.requireNonNull(machineFactory);
        this.fuelPerCheckpoint = fuelPerCheckpoint;
    }

    /**
     * This template with a machine whose checkpoints charge fuel ({@code MeteredMachines.meter} was
     * applied to its compiled classes), each checkpoint costing {@code fuelPerCheckpoint} units.
     */
    public WasmTemplate metered(double fuelPerCheckpoint) {
        if (!(fuelPerCheckpoint > 0)) {
            throw new IllegalArgumentException("fuel per checkpoint must be positive");
        }
        return new WasmTemplate(name, module, machineFactory, fuelPerCheckpoint);
    }

    /** This template with another machine factory (e.g. the unmetered machine), not metered. */
    public WasmTemplate withMachine(Function<Instance, Machine> factory) {
        return new WasmTemplate(name, module, factory, 0);
    }

    public boolean isMetered() {
        return fuelPerCheckpoint > 0;
    }

    public double fuelPerCheckpoint() {
        return fuelPerCheckpoint;
    }

    public String name() {
        return name;
    }

    public WasmModule module() {
        return module;
    }

    public Function<Instance, Machine> machineFactory() {
        return machineFactory;
    }

    /** Pages the module's memory starts with: the least memory an instance can run in. */
    public int initialPages() {
        return module.memorySection().orElseThrow().getMemory(0).limits().initialPages();
    }
}
