package io.capsule.js;

import com.dylibso.chicory.runtime.HostFunction;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.runtime.Memory;
import com.dylibso.chicory.runtime.TrapException;
import com.dylibso.chicory.wasm.types.FunctionType;
import com.dylibso.chicory.wasm.types.ValType;
import io.capsule.wasm.Sandbox;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.BinaryOperator;

/**
 * The ABI of the QuickJS build shipped by quickjs4j (QuickJS inside a Javy plugin, compiled ahead of time
 * for Chicory). We drive the module directly instead of through quickjs4j's {@code Engine} so that it runs
 * in our {@link Sandbox} (capped copy-on-write memory, warm snapshot, streamed stdout/stderr).
 *
 * <ul>
 *   <li>exports {@code initialize_runtime()}, {@code compileSrc(ptr, len) -> *[ptr, len]} (QuickJS bytecode of
 *       the source compiled as an ES module), {@code invoke(ptr, len, 0, 0)} (evaluates bytecode, then runs
 *       every pending promise job), {@code canonical_abi_realloc/free};</li>
 *   <li>imports {@code chicory.invoke(module, function, args) -> *[ptr, len]}, which JS code reaches as the
 *       global {@code java_invoke(module, function, args)} returning a string. The guest frees the answer.</li>
 * </ul>
 */
final class QuickJs {
    private static final int ALIGN = 1;

    private QuickJs() {}

    /** The {@code chicory.invoke} import, answering each call with {@code handler(function, args)}. */
    static HostFunction hostCalls(BinaryOperator<String> handler) {
        return new HostFunction("chicory", "invoke",
                FunctionType.of(List.of(ValType.I32, ValType.I32, ValType.I32, ValType.I32, ValType.I32, ValType.I32),
                        List.of(ValType.I32)),
                (instance, args) -> {
                    Memory m = instance.memory();
                    String function = m.readString((int) args[2], (int) args[3]);
                    String payload = new String(m.readBytes((int) args[4], (int) args[5]), StandardCharsets.UTF_8);
                    String text = handler.apply(function, payload);
                    // The guest's allocator has no zero-size blocks: an empty answer would corrupt its heap.
                    byte[] answer = (text == null || text.isEmpty() ? "null" : text).getBytes(StandardCharsets.UTF_8);
                    int ptr = allocate(instance, answer.length);
                    m.write(ptr, answer);
                    int wide = allocate(instance, 8);
                    m.writeI32(wide, ptr);
                    m.writeI32(wide + 4, answer.length);
                    return new long[] {wide};
                });
    }

    static void initialize(Sandbox sandbox) {
        sandbox.export("initialize_runtime").apply();
    }

    /** Compiles JS source (as an ES module) to QuickJS bytecode; a syntax error traps (message on stderr). */
    static byte[] compile(Sandbox sandbox, String source) {
        byte[] code = source.getBytes(StandardCharsets.UTF_8);
        int src = write(sandbox.instance(), code);
        int result = (int) sandbox.export("compileSrc").apply(src, code.length)[0];
        free(sandbox.instance(), src, code.length);
        Memory m = sandbox.memory();
        int ptr = m.readInt(result);
        int len = m.readInt(result + 4);
        byte[] bytecode = m.readBytes(ptr, len);
        free(sandbox.instance(), ptr, len);
        free(sandbox.instance(), result, 8);
        return bytecode;
    }

    /** Evaluates bytecode from {@link #compile}, then runs pending jobs; an uncaught JS error traps. */
    static void exec(Sandbox sandbox, byte[] bytecode) {
        int ptr = write(sandbox.instance(), bytecode);
        sandbox.export("invoke").apply(ptr, bytecode.length, 0, 0);
        free(sandbox.instance(), ptr, bytecode.length);
    }

    private static int write(Instance instance, byte[] bytes) {
        int ptr = allocate(instance, bytes.length);
        instance.memory().write(ptr, bytes);
        return ptr;
    }

    private static int allocate(Instance instance, int size) {
        int ptr = (int) instance.export("canonical_abi_realloc").apply(0, 0, ALIGN, size)[0];
        if (ptr == 0) {
            throw new TrapException("out of memory passing data to the guest");
        }
        return ptr;
    }

    private static void free(Instance instance, int ptr, int size) {
        instance.export("canonical_abi_free").apply(ptr, size, ALIGN);
    }
}
