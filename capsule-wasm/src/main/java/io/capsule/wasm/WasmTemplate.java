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

    public WasmTemplate(String name, WasmModule module, Function<Instance, Machine> machineFactory) {
        this.name = Objects.requireNonNull(name);
        this.module = Objects.requireNonNull(module);
        this.machineFactory = Objects.requireNonNull(machineFactory);
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
