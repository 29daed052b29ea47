package io.capsule.wasm.fuel;

import static io.capsule.wasm.fuel.TinyWasm.*;
import static org.assertj.core.api.Assertions.assertThat;

import com.dylibso.chicory.compiler.internal.Compiler;
import com.dylibso.chicory.runtime.ExecutionListener;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.runtime.InterpreterMachine;
import com.dylibso.chicory.runtime.Machine;
import com.dylibso.chicory.wasm.Parser;
import com.dylibso.chicory.wasm.WasmModule;
import com.dylibso.chicory.wasm.types.OpCode;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Calibrates fuel against exact instruction counts. Each small module runs twice with the same input:
 * compiled by Chicory's compiler (as the guest runtimes are) with its checkpoint helper metered, counting
 * checkpoints; and in Chicory's interpreter, counting every executed instruction the way wasmtime counts
 * fuel (every operator costs 1 except nop, drop, block, loop, end, else, return and unreachable). The
 * printed table is the one in docs/fuel.md.
 */
class FuelCalibrationTest {
    private static final Set<OpCode> FREE = EnumSet.of(OpCode.NOP, OpCode.DROP, OpCode.BLOCK, OpCode.LOOP,
            OpCode.END, OpCode.ELSE, OpCode.RETURN, OpCode.UNREACHABLE);

    record Program(String name, TinyWasm module, int input) {}

    static List<Program> programs() {
        List<Program> p = new ArrayList<>();
        TinyWasm sum = new TinyWasm();
        sum.function(1, 2, BLOCK, VOID, LOOP, VOID,
                LOCAL_GET, 1, LOCAL_GET, 0, I32_GE_S, BR_IF, 1,
                LOCAL_GET, 2, LOCAL_GET, 1, I32_ADD, LOCAL_SET, 2,
                LOCAL_GET, 1, c(1), I32_ADD, LOCAL_SET, 1,
                BR, 0, END, END, LOCAL_GET, 2);
        p.add(new Program("counted loop", sum, 100_000));

        TinyWasm fib = new TinyWasm();
        fib.function(1, 0, LOCAL_GET, 0, c(2), I32_LT_S, IF, I32, LOCAL_GET, 0, ELSE,
                LOCAL_GET, 0, c(1), I32_SUB, CALL, 0, LOCAL_GET, 0, c(2), I32_SUB, CALL, 0, I32_ADD, END);
        p.add(new Program("recursive fib", fib, 20));

        TinyWasm sieve = new TinyWasm();
        sieve.function(1, 3, c(2), LOCAL_SET, 1,
                BLOCK, VOID, LOOP, VOID,
                LOCAL_GET, 1, LOCAL_GET, 1, I32_MUL, LOCAL_GET, 0, I32_GT_S, BR_IF, 1,
                LOCAL_GET, 1, I32_LOAD8_U, 0, 0, I32_EQZ,
                IF, VOID,
                LOCAL_GET, 1, LOCAL_GET, 1, I32_MUL, LOCAL_SET, 2,
                BLOCK, VOID, LOOP, VOID,
                LOCAL_GET, 2, LOCAL_GET, 0, I32_GT_S, BR_IF, 1,
                LOCAL_GET, 2, c(1), I32_STORE8, 0, 0,
                LOCAL_GET, 2, LOCAL_GET, 1, I32_ADD, LOCAL_SET, 2,
                BR, 0, END, END,
                END,
                LOCAL_GET, 1, c(1), I32_ADD, LOCAL_SET, 1,
                BR, 0, END, END,
                c(2), LOCAL_SET, 1,
                BLOCK, VOID, LOOP, VOID,
                LOCAL_GET, 1, LOCAL_GET, 0, I32_GT_S, BR_IF, 1,
                LOCAL_GET, 3, LOCAL_GET, 1, I32_LOAD8_U, 0, 0, I32_EQZ, I32_ADD, LOCAL_SET, 3,
                LOCAL_GET, 1, c(1), I32_ADD, LOCAL_SET, 1,
                BR, 0, END, END,
                LOCAL_GET, 3);
        p.add(new Program("sieve in memory", sieve, 60_000));

        TinyWasm sort = new TinyWasm();
        int swap = sort.function(1, 2,
                LOCAL_GET, 0, I32_LOAD, 2, 0, LOCAL_SET, 1,
                LOCAL_GET, 0, I32_LOAD, 2, 4, LOCAL_SET, 2,
                LOCAL_GET, 1, LOCAL_GET, 2, I32_GT_S,
                IF, I32,
                LOCAL_GET, 0, LOCAL_GET, 2, I32_STORE, 2, 0,
                LOCAL_GET, 0, LOCAL_GET, 1, I32_STORE, 2, 4,
                c(1), ELSE, c(0), END);
        sort.function(1, 4,
                BLOCK, VOID, LOOP, VOID,
                LOCAL_GET, 1, LOCAL_GET, 0, I32_GE_S, BR_IF, 1,
                LOCAL_GET, 1, c(4), I32_MUL,
                LOCAL_GET, 1, c(7919), I32_MUL, c(1000), I32_REM_U,
                I32_STORE, 2, 0,
                LOCAL_GET, 1, c(1), I32_ADD, LOCAL_SET, 1,
                BR, 0, END, END,
                BLOCK, VOID, LOOP, VOID,
                LOCAL_GET, 2, LOCAL_GET, 0, c(1), I32_SUB, I32_GE_S, BR_IF, 1,
                c(0), LOCAL_SET, 1,
                LOCAL_GET, 0, c(1), I32_SUB, LOCAL_GET, 2, I32_SUB, LOCAL_SET, 4,
                BLOCK, VOID, LOOP, VOID,
                LOCAL_GET, 1, LOCAL_GET, 4, I32_GE_S, BR_IF, 1,
                LOCAL_GET, 3, LOCAL_GET, 1, c(4), I32_MUL, CALL, swap, I32_ADD, LOCAL_SET, 3,
                LOCAL_GET, 1, c(1), I32_ADD, LOCAL_SET, 1,
                BR, 0, END, END,
                LOCAL_GET, 2, c(1), I32_ADD, LOCAL_SET, 2,
                BR, 0, END, END,
                LOCAL_GET, 3);
        p.add(new Program("bubble sort + calls", sort, 300));

        TinyWasm hash = new TinyWasm();
        hash.function(1, 2,
                BLOCK, VOID, LOOP, VOID,
                LOCAL_GET, 1, LOCAL_GET, 0, I32_GE_U, BR_IF, 1,
                LOCAL_GET, 1, LOCAL_GET, 1, c(31), I32_MUL, I32_STORE8, 0, 0,
                LOCAL_GET, 1, c(1), I32_ADD, LOCAL_SET, 1,
                BR, 0, END, END,
                c(0), LOCAL_SET, 1, c(0x811c9dc5), LOCAL_SET, 2,
                BLOCK, VOID, LOOP, VOID,
                LOCAL_GET, 1, LOCAL_GET, 0, I32_GE_U, BR_IF, 1,
                LOCAL_GET, 2, LOCAL_GET, 1, I32_LOAD8_U, 0, 0, I32_XOR, c(16777619), I32_MUL, LOCAL_SET, 2,
                LOCAL_GET, 1, c(1), I32_ADD, LOCAL_SET, 1,
                BR, 0, END, END,
                LOCAL_GET, 2);
        p.add(new Program("FNV hash of bytes", hash, 60_000));

        TinyWasm collatz = new TinyWasm();
        int steps = collatz.function(1, 1,
                BLOCK, VOID, LOOP, VOID,
                LOCAL_GET, 0, c(1), I32_LE_U, BR_IF, 1,
                LOCAL_GET, 0, c(1), I32_AND,
                IF, VOID, LOCAL_GET, 0, c(3), I32_MUL, c(1), I32_ADD, LOCAL_SET, 0,
                ELSE, LOCAL_GET, 0, c(1), I32_SHR_U, LOCAL_SET, 0, END,
                LOCAL_GET, 1, c(1), I32_ADD, LOCAL_SET, 1,
                BR, 0, END, END,
                LOCAL_GET, 1);
        collatz.function(1, 2, c(1), LOCAL_SET, 1,
                BLOCK, VOID, LOOP, VOID,
                LOCAL_GET, 1, LOCAL_GET, 0, I32_GT_S, BR_IF, 1,
                LOCAL_GET, 2, LOCAL_GET, 1, CALL, steps, I32_ADD, LOCAL_SET, 2,
                LOCAL_GET, 1, c(1), I32_ADD, LOCAL_SET, 1,
                BR, 0, END, END,
                LOCAL_GET, 2);
        p.add(new Program("collatz + calls", collatz, 3000));

        // The shape of CPython's eval loop: fetch a bytecode from memory, br_table to its handler, loop.
        // Bytecode: 0 ADD acc+=cnt, 4 MULMOD acc=acc*3%1000003, 1 DEC cnt-=1, 2 JNZ 0, 3 HALT.
        TinyWasm vm = new TinyWasm();
        vm.function(1, 4,
                c(0), c(0), I32_STORE8, 0, 0, c(1), c(4), I32_STORE8, 0, 0, c(2), c(1), I32_STORE8, 0, 0,
                c(3), c(2), I32_STORE8, 0, 0, c(4), c(0), I32_STORE8, 0, 0, c(5), c(3), I32_STORE8, 0, 0,
                LOCAL_GET, 0, LOCAL_SET, 3,
                BLOCK, VOID, LOOP, VOID,
                BLOCK, VOID, BLOCK, VOID, BLOCK, VOID, BLOCK, VOID, BLOCK, VOID,
                LOCAL_GET, 1, I32_LOAD8_U, 0, 0, BR_TABLE, 4, 0, 1, 2, 3, 4,
                END, // ADD
                LOCAL_GET, 2, LOCAL_GET, 3, I32_ADD, LOCAL_SET, 2, LOCAL_GET, 1, c(1), I32_ADD, LOCAL_SET, 1, BR, 4,
                END, // DEC
                LOCAL_GET, 3, c(1), I32_SUB, LOCAL_SET, 3, LOCAL_GET, 1, c(1), I32_ADD, LOCAL_SET, 1, BR, 3,
                END, // JNZ
                LOCAL_GET, 3, IF, VOID, LOCAL_GET, 1, c(1), I32_ADD, I32_LOAD8_U, 0, 0, LOCAL_SET, 1,
                ELSE, LOCAL_GET, 1, c(2), I32_ADD, LOCAL_SET, 1, END, BR, 2,
                END, // HALT
                BR, 2,
                END, // MULMOD
                LOCAL_GET, 2, c(3), I32_MUL, c(1000003), I32_REM_U, LOCAL_SET, 2,
                LOCAL_GET, 1, c(1), I32_ADD, LOCAL_SET, 1, BR, 0,
                END, END,
                LOCAL_GET, 2);
        p.add(new Program("bytecode VM loop", vm, 20_000));
        return p;
    }

    @Test
    void checkpointsTimesTheRateApproximateExactInstructionCounts() {
        double rate = MeteredMachines.CALIBRATED_FUEL_PER_CHECKPOINT;
        List<String> table = new ArrayList<>();
        table.add(String.format(Locale.ROOT, "| %-20s | %12s | %11s | %9s | %12s | %7s |", "program", "instructions",
                "checkpoints", "instr/cp", "fuel", "error"));
        double logSum = 0;
        double worst = 0;
        Map<String, Double> errors = new LinkedHashMap<>();
        for (Program p : programs()) {
            WasmModule module = Parser.parse(p.module().toBytes());
            long[] instructions = {0};
            ExecutionListener count = (instruction, stack) -> {
                if (!FREE.contains(instruction.opcode())) {
                    instructions[0]++;
                }
            };
            Instance interpreted = Instance.builder(module).withMachineFactory(InterpreterMachine::new)
                    .withUnsafeExecutionListener(count).build();
            long expected = interpreted.export("run").apply(p.input())[0];

            Instance compiled = Instance.builder(module).withMachineFactory(meteredCompile(module)).build();
            FuelMeter meter = new FuelMeter(Long.MAX_VALUE / 4, 1.0);
            long actual;
            try (FuelMeter.Scope s = meter.enter()) {
                actual = compiled.export("run").apply(p.input())[0];
            }
            // i32 results: the interpreter may leave the upper half of the slot unmasked.
            assertThat((int) actual).as(p.name()).isEqualTo((int) expected);
            long cp = meter.checkpoints();
            double ratio = (double) instructions[0] / cp;
            logSum += Math.log(ratio);
            long fuel = Math.round(cp * rate);
            double error = (double) (fuel - instructions[0]) / instructions[0];
            errors.put(p.name(), error);
            worst = Math.max(worst, Math.abs(error));
            table.add(String.format(Locale.ROOT, "| %-20s | %,12d | %,11d | %9.2f | %,12d | %+6.1f%% |", p.name(),
                    instructions[0], cp, ratio, fuel, 100 * error));
        }
        double mean = Math.exp(logSum / programs().size());
        table.add(String.format(Locale.ROOT, "geometric mean of instr/cp: %.2f; rate in use: %.2f; worst error: %.1f%%",
                mean, rate, 100 * worst));
        System.out.println(String.join("\n", table));
        // The rate in use is the measured mean: a compiler whose checkpoints moved must be recalibrated.
        assertThat(rate).as("calibrated rate vs measured geometric mean").isCloseTo(mean, org.assertj.core.data.Percentage.withPercentage(3));
        // One rate for all code: blocks between checkpoints differ in length (table in docs/fuel.md).
        assertThat(worst).as("largest relative error of fuel vs exact instruction count: " + errors).isLessThan(0.6);
    }

    /** Compiles like Chicory's build-time compiler does and loads the classes with the helper metered. */
    static Function<Instance, Machine> meteredCompile(WasmModule module) {
        Map<String, byte[]> classes = new java.util.HashMap<>();
        Compiler.builder(module).withClassName("io.capsule.calibration.Compiled").build().compile().classBytes()
                .forEach((name, bytes) -> classes.put(name.replace('/', '.'), bytes));
        ClassLoader loader = new ClassLoader(FuelCalibrationTest.class.getClassLoader()) {
            @Override
            protected Class<?> findClass(String name) throws ClassNotFoundException {
                byte[] bytes = classes.get(name);
                if (bytes == null) {
                    throw new ClassNotFoundException(name);
                }
                if (name.endsWith("Shaded")) {
                    bytes = MeteredMachines.rewrite(bytes);
                }
                return defineClass(name, bytes, 0, bytes.length);
            }
        };
        try {
            var constructor = loader.loadClass("io.capsule.calibration.Compiled").getConstructor(Instance.class);
            return instance -> {
                try {
                    return (Machine) constructor.newInstance(instance);
                } catch (ReflectiveOperationException e) {
                    throw new IllegalStateException(e);
                }
            };
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }
}
