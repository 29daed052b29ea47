package io.capsule.wasm.fuel;

import static io.capsule.wasm.fuel.TinyWasm.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.wasm.Parser;
import com.dylibso.chicory.wasm.WasmModule;
import io.capsule.core.exec.GuestThread;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class FuelMeterTest {
    @Test
    void chargesEachCheckpointAndStopsOnceTheBudgetIsSpent() {
        FuelMeter meter = new FuelMeter(100, 10);
        try (FuelMeter.Scope s = meter.enter()) {
            for (int i = 0; i < 10; i++) {
                FuelMeter.checkpoint();
            }
            assertThat(meter.consumed()).isEqualTo(100);
            assertThat(meter.exhausted()).isFalse();
            assertThatThrownBy(FuelMeter::checkpoint).isInstanceOf(FuelExhaustedException.class)
                    .hasMessageContaining("100");
            // Whatever catches it cannot go on: every later checkpoint throws too.
            assertThatThrownBy(FuelMeter::checkpoint).isInstanceOf(FuelExhaustedException.class);
        }
        assertThat(meter.exhausted()).isTrue();
        assertThat(meter.consumed()).isEqualTo(100);
    }

    @Test
    void checkpointsOutsideAScopeOrOnOtherThreadsChargeNothing() throws Exception {
        FuelMeter meter = new FuelMeter(1000, 1);
        FuelMeter.checkpoint();
        try (FuelMeter.Scope s = meter.enter()) {
            Thread other = new Thread(FuelMeter::checkpoint);
            other.start();
            other.join();
            FuelMeter.checkpoint();
        }
        FuelMeter.checkpoint();
        assertThat(meter.checkpoints()).isEqualTo(1);
    }

    @Test
    void onTheEnginesGuestThreadsTheMeterLivesInTheThreadAndBehavesTheSame() throws Exception {
        FuelMeter outer = new FuelMeter(1000, 1);
        FuelMeter inner = new FuelMeter(3, 1);
        Throwable[] failure = new Throwable[1];
        Thread guest = new GuestThread(() -> {
            try {
                FuelMeter.checkpoint(); // outside a scope: free
                try (FuelMeter.Scope a = outer.enter()) {
                    FuelMeter.checkpoint();
                    try (FuelMeter.Scope b = inner.enter()) {
                        for (int i = 0; i < 3; i++) {
                            FuelMeter.checkpoint();
                        }
                        assertThatThrownBy(FuelMeter::checkpoint).isInstanceOf(FuelExhaustedException.class);
                    }
                    FuelMeter.checkpoint();
                }
                FuelMeter.checkpoint();
            } catch (Throwable t) {
                failure[0] = t;
            }
        }, "test-guest", 0);
        guest.start();
        guest.join();
        assertThat(failure[0]).isNull();
        assertThat(outer.checkpoints()).isEqualTo(2);
        assertThat(inner.exhausted()).isTrue();
    }

    @Test
    void scopesNestAndRestoreTheOuterMeter() {
        FuelMeter outer = new FuelMeter(1000, 1);
        FuelMeter inner = new FuelMeter(1000, 1);
        try (FuelMeter.Scope a = outer.enter()) {
            try (FuelMeter.Scope b = inner.enter()) {
                FuelMeter.checkpoint();
            }
            FuelMeter.checkpoint();
            FuelMeter.checkpoint();
        }
        assertThat(inner.checkpoints()).isEqualTo(1);
        assertThat(outer.checkpoints()).isEqualTo(2);
    }

    @Test
    void theBudgetCanOnlyBeLowered() {
        FuelMeter meter = new FuelMeter(1000, 2.5);
        meter.lowerBudget(5000);
        assertThat(meter.budget()).isEqualTo(1000);
        meter.lowerBudget(10);
        assertThat(meter.budget()).isEqualTo(10);
        try (FuelMeter.Scope s = meter.enter()) {
            for (int i = 0; i < 4; i++) {
                FuelMeter.checkpoint();
            }
            assertThatThrownBy(FuelMeter::checkpoint).isInstanceOf(FuelExhaustedException.class);
        }
    }

    @Test
    void rejectsBadBudgetsAndRates() {
        assertThatThrownBy(() -> new FuelMeter(0, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new FuelMeter(10, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new FuelMeter(10, Double.NaN)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void anInfiniteWasmLoopStopsWhenItsFuelRunsOut() {
        TinyWasm spin = new TinyWasm();
        spin.function(1, 0, LOOP, VOID, BR, 0, END, c(0));
        WasmModule module = Parser.parse(spin.toBytes());
        Instance instance = Instance.builder(module).withMachineFactory(FuelCalibrationTest.meteredCompile(module)).build();
        FuelMeter meter = new FuelMeter(1_000_000, 1);
        try (FuelMeter.Scope s = meter.enter()) {
            assertThatThrownBy(() -> instance.export("run").apply(0)).isInstanceOf(FuelExhaustedException.class);
        }
        assertThat(meter.checkpoints()).isEqualTo(1_000_001);
        assertThat(meter.consumed()).isEqualTo(1_000_000);
    }

    @Test
    void countsAreIdenticalOnEveryRunAndUnderConcurrency() throws Exception {
        FuelCalibrationTest.Program collatz = FuelCalibrationTest.programs().get(5);
        WasmModule module = Parser.parse(collatz.module().toBytes());
        var factory = FuelCalibrationTest.meteredCompile(module);
        Set<Long> counts = ConcurrentHashMap.newKeySet();
        ExecutorService pool = Executors.newFixedThreadPool(9);
        try {
            List<Future<?>> runs = new ArrayList<>();
            for (int i = 0; i < 27; i++) {
                runs.add(pool.submit(() -> {
                    Instance instance = Instance.builder(module).withMachineFactory(factory).build();
                    FuelMeter meter = new FuelMeter(Long.MAX_VALUE / 4, MeteredMachines.CALIBRATED_FUEL_PER_CHECKPOINT);
                    try (FuelMeter.Scope s = meter.enter()) {
                        instance.export("run").apply(collatz.input());
                    }
                    counts.add(meter.consumed());
                }));
            }
            for (Future<?> f : runs) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(counts).hasSize(1);
    }

    @Test
    void rewriteRefusesAClassWithoutCheckpoint() throws Exception {
        byte[] notAHelper;
        try (var in = FuelMeterTest.class.getResourceAsStream("FuelMeterTest.class")) {
            notAHelper = in.readAllBytes();
        }
        assertThatThrownBy(() -> MeteredMachines.rewrite(notAHelper)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("checkInterruption");
    }
}
