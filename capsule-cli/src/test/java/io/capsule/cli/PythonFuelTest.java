package io.capsule.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.capsule.core.CapsuleEngine;
import io.capsule.core.Envelope;
import io.capsule.core.ErrorType;
import io.capsule.core.TaskHandle;
import io.capsule.core.TaskRequest;
import io.capsule.python.PythonRuntime;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** Fuel budgets on real Python programs: exhaustion, determinism, proportionality, sub-tasks, retries. */
class PythonFuelTest extends EngineTest {
    private static final String LOOP = """
            from capsule import task

            @task(name="main", compute="HIGH")
            def main(n):
                x = 0
                for i in range(n):
                    x += i
                return x
            """;

    private static Envelope run(String source, Object... args) throws Exception {
        return engine.run(TaskRequest.source("main.py", source).args(List.of(args)).build());
    }

    @Test
    void busyLoopWithLowComputeRunsOutOfFuelWithoutAnyTimeout() throws Exception {
        Envelope e = run("""
                from capsule import task

                @task(name="main", compute="LOW")
                def main():
                    while True:
                        pass
                """);
        assertThat(e.success()).isFalse();
        assertThat(e.error().type()).as(e.toJson()).isEqualTo(ErrorType.FUEL_EXHAUSTED);
        assertThat(e.error().message()).isEqualTo("Task exceeded its fuel budget of 100000000 units");
        assertThat(e.execution().fuelConsumed()).isEqualTo(100_000_000L);
        assertThat(e.execution().taskName()).isEqualTo("main");
    }

    @Test
    void catchingEverythingDoesNotBuyMoreFuel() throws Exception {
        Envelope e = run("""
                from capsule import task

                @task(name="main", compute="LOW")
                def main():
                    while True:
                        try:
                            while True:
                                pass
                        except BaseException:
                            pass
                        finally:
                            continue
                """);
        assertThat(e.error().type()).as(e.toJson()).isEqualTo(ErrorType.FUEL_EXHAUSTED);
    }

    @Test
    void integerComputeStopsATrivialLoop() throws Exception {
        Envelope e = run("""
                from capsule import task

                @task(name="main", compute="1000")
                def main():
                    total = 0
                    for i in range(1000):
                        total += i
                    return total
                """);
        assertThat(e.error().type()).as(e.toJson()).isEqualTo(ErrorType.FUEL_EXHAUSTED);
        assertThat(e.error().message()).isEqualTo("Task exceeded its fuel budget of 1000 units");
        assertThat(e.execution().fuelConsumed()).isEqualTo(1000L);
    }

    @Test
    void highComputeLetsAMillionIterationLoopFinish() throws Exception {
        Envelope e = run(LOOP, 1_000_000);
        assertThat(e.success()).as(e.toJson()).isTrue();
        assertThat(e.result().asLong()).isEqualTo(499_999_500_000L);
        assertThat(e.execution().fuelConsumed()).isBetween(100_000_000L, 50_000_000_000L);
    }

    @Test
    void theSameProgramConsumesExactlyTheSameFuelAloneOrBesideEightOthers() throws Exception {
        Set<Long> fuel = new TreeSet<>();
        for (int i = 0; i < 5; i++) {
            Envelope e = run(LOOP, 20_000);
            assertThat(e.success()).as(e.toJson()).isTrue();
            fuel.add(e.execution().fuelConsumed());
        }
        assertThat(fuel).as("five sequential runs").hasSize(1);
        List<TaskHandle> together = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            together.add(engine.submit(TaskRequest.source("main.py", LOOP).args(List.of(20_000)).build()));
        }
        for (TaskHandle h : together) {
            Envelope e = h.envelope();
            assertThat(e.success()).as(e.toJson()).isTrue();
            fuel.add(e.execution().fuelConsumed());
        }
        assertThat(fuel).as("the same count alone and with 8 others in flight").hasSize(1);
    }

    @Test
    void twiceTheIterationsCostTwiceTheFuel() throws Exception {
        long n = run(LOOP, 100_000).execution().fuelConsumed();
        long twoN = run(LOOP, 200_000).execution().fuelConsumed();
        assertThat((double) twoN / n).isBetween(1.8, 2.2);
    }

    @Test
    void aSubTaskHasItsOwnBudgetAndItsOwnFuel() throws Exception {
        Envelope e = run("""
                from capsule import task

                @task(name="spin", compute="LOW")
                def spin():
                    while True:
                        pass

                @task(name="count", compute="MEDIUM")
                def count(n):
                    return sum(range(n))

                @task(name="main", compute="HIGH")
                def main():
                    return {"spin": spin(), "count": count(1000)}
                """);
        assertThat(e.success()).as(e.toJson()).isTrue();
        var spin = e.result().get("spin");
        assertThat(spin.get("error").get("type").asText()).isEqualTo("fuel_exhausted");
        assertThat(spin.get("execution").get("fuel_consumed").asLong()).isEqualTo(100_000_000L);
        var count = e.result().get("count");
        assertThat(count.get("success").asBoolean()).isTrue();
        long countFuel = count.get("execution").get("fuel_consumed").asLong();
        assertThat(countFuel).isPositive().isLessThan(100_000_000L);
        // The parent waits for its children in the host: their fuel is not the parent's.
        assertThat(e.execution().fuelConsumed()).isPositive().isLessThan(100_000_000L);
    }

    @Test
    void retriesAddUpTheFuelOfEveryAttempt() throws Exception {
        Envelope e = run("""
                from capsule import task

                @task(name="main", compute="LOW", max_retries=1)
                def main():
                    while True:
                        pass
                """);
        assertThat(e.error().type()).as(e.toJson()).isEqualTo(ErrorType.FUEL_EXHAUSTED);
        assertThat(e.execution().retries()).isEqualTo(1);
        assertThat(e.execution().fuelConsumed()).isEqualTo(200_000_000L);
    }

    @Test
    void theUnmeteredBaselineRunsCPythonAsShippedWithoutCountingFuel() throws Exception {
        try (CapsuleEngine unmetered = CapsuleEngine.builder().runtime(PythonRuntime.unmetered()).build()) {
            Envelope e = unmetered.run(TaskRequest.source("main.py", """
                    from capsule import task

                    @task(name="main", compute="1000")
                    def main():
                        return sum(range(1000))
                    """).build());
            assertThat(e.success()).as(e.toJson()).isTrue();
            assertThat(e.result().asInt()).isEqualTo(499_500);
            assertThat(e.execution().fuelConsumed()).isNull();
        }
    }
}
