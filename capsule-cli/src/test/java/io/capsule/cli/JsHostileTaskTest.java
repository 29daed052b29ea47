package io.capsule.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.capsule.core.Envelope;
import io.capsule.core.ErrorType;
import io.capsule.core.TaskRequest;
import io.capsule.core.options.Ceilings;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** JavaScript tasks that try to hurt the host: each fails alone and the engine goes on. */
class JsHostileTaskTest extends EngineTest {
    private static Envelope run(String source) throws Exception {
        return engine.run(TaskRequest.source("main.ts", source).build());
    }

    private static Envelope run(String source, Ceilings ceilings) throws Exception {
        return engine.run(TaskRequest.source("main.ts", source).ceilings(ceilings).build());
    }

    /** After every hostile case the engine must still run an ordinary task. */
    private static void assertHostHealthy() throws Exception {
        Envelope next = run("export const main = () => [0, 1, 2, 3, 4].map((i) => i * i);\n");
        assertThat(next.success()).as(next.toJson()).isTrue();
        assertThat(next.result().toString()).isEqualTo("[0,1,4,9,16]");
    }

    @Test
    void outputFloodIsCappedAndTheResultSurvives() throws Exception {
        Envelope e = run("""
                export function main() {
                  const line = "x".repeat(10_000);
                  for (let i = 0; i < 300; i++) console.log(line);
                  return "done";
                }
                """);
        assertThat(e.success()).as(e.error() == null ? "" : e.error().message()).isTrue();
        assertThat(e.result().asText()).isEqualTo("done");
        assertThat(e.execution().stdout().length()).isLessThan(1_100_000);
        assertThat(e.execution().stdout()).contains("truncated");
        assertHostHealthy();
    }

    @Test
    void tamperingWithTheHarnessGainsNothing() throws Exception {
        Envelope e = run("""
                export function main() {
                  const seen: string[] = [typeof (globalThis as any).java_invoke];
                  try { (globalThis as any).__capsule.tick = () => {}; } catch (err: any) { seen.push(err.name); }
                  try { (globalThis as any).__capsule = null; } catch (err: any) { seen.push(err.name); }
                  return seen;
                }
                """);
        assertThat(e.success()).as(e.toJson()).isTrue();
        assertThat(e.result().toString()).isEqualTo("[\"undefined\",\"TypeError\",\"TypeError\"]");

        Envelope restart = run("export function main() { (globalThis as any).__capsule.start(); return 1; }\n");
        assertThat(restart.error().type()).as(restart.toJson()).isEqualTo(ErrorType.INVALID_TASK);
        assertThat(restart.error().message()).contains("already configured");
        assertHostHealthy();
    }

    @Test
    void endlessSubTasksStopAtTheCeiling() throws Exception {
        Envelope e = run("""
                import { task } from "@capsule-run/sdk";
                export const spawn = task({ name: "spawn" }, (n: number): any => {
                  const out = spawn(n + 1);
                  return out.success ? out : { stopped_at: n, error: out.error };
                });
                export const main = task({ name: "main" }, () => spawn(0));
                """, Ceilings.DEFAULT.withSubtasks(20, 5));
        assertThat(e.success()).as(e.toJson()).isTrue();
        assertThat(e.toJson()).contains("stopped_at").contains("at most 5 deep");
        assertHostHealthy();
    }

    @Test
    void wideFanOutStopsAtTheSubTaskCount() throws Exception {
        Envelope e = run("""
                import { task } from "@capsule-run/sdk";
                export const leaf = task({ name: "leaf" }, (i: number) => i);
                export const main = task({ name: "main" }, () => Array.from({ length: 30 }, (_, i) => leaf(i).success));
                """, Ceilings.DEFAULT.withSubtasks(10, 5));
        assertThat(e.success()).as(e.toJson()).isTrue();
        long ok = 0;
        for (var r : e.result()) {
            ok += r.asBoolean() ? 1 : 0;
        }
        assertThat(ok).isEqualTo(10);
        assertHostHealthy();
    }

    @Test
    void subTaskMemoryBombFailsOnlyThatSubTask() throws Exception {
        Envelope e = run("""
                import { task } from "@capsule-run/sdk";
                export const bomb = task({ name: "bomb", ram: "48MB" }, () => {
                  const chunks: Uint8Array[] = [];
                  for (;;) chunks.push(new Uint8Array(1 << 20));
                });
                export const main = task({ name: "main" }, () => bomb().error.type);
                """);
        assertThat(e.success()).as(e.toJson()).isTrue();
        assertThat(e.result().asText()).isEqualTo("memory_exhausted");
        assertHostHealthy();
    }

    @Test
    void ramBelowTheRuntimeMinimumIsInvalid() throws Exception {
        Envelope e = run("""
                import { task } from "@capsule-run/sdk";
                export const main = task({ name: "main", ram: "1MB" }, () => 1);
                """);
        assertThat(e.error().type()).as(e.toJson()).isEqualTo(ErrorType.INVALID_TASK);
        assertThat(e.error().message()).contains("1MB");
        assertHostHealthy();
    }

    @Test
    void theCeilingLowersWhatATaskAsksFor() throws Exception {
        Envelope e = run("""
                import { task } from "@capsule-run/sdk";
                export const main = task({ name: "main", ram: "100GB", timeout: "1h" }, () => new Uint8Array(200 * 1024 * 1024).length);
                """, Ceilings.DEFAULT.withMaxRamBytes(96L << 20).withMaxTimeout(Duration.ofSeconds(20)));
        assertThat(e.error().type()).as(e.toJson()).isEqualTo(ErrorType.MEMORY_EXHAUSTED);
        assertThat(e.execution().ramUsed()).isLessThanOrEqualTo(96L << 20);
        assertHostHealthy();
    }

    @Test
    void manyFailingTasksInARowLeaveTheEngineUsable() throws Exception {
        for (int i = 0; i < 20; i++) {
            Envelope e = run("export function main() { throw new Error('boom " + i + "'); }\n");
            assertThat(e.error().type()).isEqualTo(ErrorType.TASK_ERROR);
            assertThat(e.error().message()).contains("boom " + i);
        }
        assertHostHealthy();
    }
}
