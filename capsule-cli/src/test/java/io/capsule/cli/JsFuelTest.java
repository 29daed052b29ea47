package io.capsule.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.capsule.core.Envelope;
import io.capsule.core.ErrorType;
import io.capsule.core.TaskRequest;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** Fuel budgets on real JavaScript programs: the same guarantees as for Python (docs/fuel.md). */
class JsFuelTest extends EngineTest {
    private static final String LOOP = """
            import { task } from "@capsule-run/sdk";

            export const main = task({ name: "main", compute: "HIGH" }, (n: number) => {
              let x = 0;
              for (let i = 0; i < n; i++) {
                x += i;
              }
              return x;
            });
            """;

    private static Envelope run(String source, Object... args) throws Exception {
        return engine.run(TaskRequest.source("main.ts", source).args(List.of(args)).build());
    }

    @Test
    void busyLoopWithLowComputeRunsOutOfFuelWithoutAnyTimeout() throws Exception {
        Envelope e = run("""
                import { task } from "@capsule-run/sdk";

                export const main = task({ name: "main", compute: "LOW" }, () => {
                  for (;;) {}
                });
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
                import { task } from "@capsule-run/sdk";

                export const main = task({ name: "main", compute: "LOW" }, () => {
                  for (;;) {
                    try {
                      for (;;) {}
                    } catch (err) {
                      // keep going
                    } finally {
                      continue;
                    }
                  }
                });
                """);
        assertThat(e.error().type()).as(e.toJson()).isEqualTo(ErrorType.FUEL_EXHAUSTED);
    }

    @Test
    void timersAndPromiseJobsAreChargedToo() throws Exception {
        // Work that runs outside the task function: in timer ticks and in the promise job queue.
        for (String body : java.util.List.of(
                "setInterval(() => { for (let i = 0; i < 1000; i++); }, 0); return new Promise(() => {});",
                "const spin = (): Promise<void> => Promise.resolve().then(spin); return spin();")) {
            Envelope e = run("""
                    import { task } from "@capsule-run/sdk";

                    export const main = task({ name: "main", compute: "5000000" }, () => { %s });
                    """.formatted(body));
            assertThat(e.error().type()).as(body + ": " + e.toJson()).isEqualTo(ErrorType.FUEL_EXHAUSTED);
            assertThat(e.execution().fuelConsumed()).isEqualTo(5_000_000L);
        }
    }

    @Test
    void integerComputeStopsATrivialLoop() throws Exception {
        Envelope e = run("""
                import { task } from "@capsule-run/sdk";

                export const main = task({ name: "main", compute: "1000" }, () => {
                  let total = 0;
                  for (let i = 0; i < 1000; i++) total += i;
                  return total;
                });
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
        assertThat(e.execution().fuelConsumed()).isBetween(10_000_000L, 50_000_000_000L);
    }

    @Test
    void theSameProgramConsumesExactlyTheSameFuelEveryRun() throws Exception {
        Set<Long> fuel = new TreeSet<>();
        for (int i = 0; i < 5; i++) {
            Envelope e = run(LOOP, 20_000);
            assertThat(e.success()).as(e.toJson()).isTrue();
            fuel.add(e.execution().fuelConsumed());
        }
        assertThat(fuel).as("five sequential runs").hasSize(1);
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
                import { task } from "@capsule-run/sdk";

                const spin = task({ name: "spin", compute: "LOW" }, () => { for (;;) {} });
                const count = task({ name: "count", compute: "MEDIUM" }, (n: number) => {
                  let s = 0;
                  for (let i = 0; i < n; i++) s += i;
                  return s;
                });

                export const main = task({ name: "main", compute: "HIGH" }, () => ({ spin: spin(), count: count(1000) }));
                """);
        assertThat(e.success()).as(e.toJson()).isTrue();
        var spin = e.result().get("spin");
        assertThat(spin.get("error").get("type").asText()).isEqualTo("fuel_exhausted");
        assertThat(spin.get("execution").get("fuel_consumed").asLong()).isEqualTo(100_000_000L);
        var count = e.result().get("count");
        assertThat(count.get("success").asBoolean()).as(count.toString()).isTrue();
        assertThat(count.get("execution").get("fuel_consumed").asLong()).isPositive().isLessThan(100_000_000L);
        // The parent waits for its children in the host: their fuel is not the parent's.
        assertThat(e.execution().fuelConsumed()).isPositive().isLessThan(100_000_000L);
    }
}
