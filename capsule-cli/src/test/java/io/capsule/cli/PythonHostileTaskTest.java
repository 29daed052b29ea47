package io.capsule.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.capsule.core.Envelope;
import io.capsule.core.ErrorType;
import io.capsule.core.TaskRequest;
import io.capsule.core.options.Ceilings;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Task code is hostile: each case here tries to hurt the host and must end in a documented error envelope,
 * after which the engine still runs the next task normally.
 */
class PythonHostileTaskTest extends EngineTest {
    private static Envelope run(String source) throws Exception {
        return engine.run(TaskRequest.source("main.py", source).build());
    }

    private static Envelope run(String source, Ceilings ceilings) throws Exception {
        return engine.run(TaskRequest.source("main.py", source).ceilings(ceilings).build());
    }

    /** After every hostile case the engine must still run an ordinary task. */
    private static void assertHostHealthy() throws Exception {
        Envelope next = run("def main():\n    return [i * i for i in range(5)]\n");
        assertThat(next.success()).as(next.toJson()).isTrue();
        assertThat(next.result().toString()).isEqualTo("[0,1,4,9,16]");
    }

    @Test
    void deepRecursionIsATaskError() throws Exception {
        Envelope e = run("""
                import sys
                from capsule import task
                sys.setrecursionlimit(10**7)
                def down(n):
                    return down(n + 1) + 1
                @task(name="main", ram="64MB", compute="LOW", timeout="5s")
                def main():
                    return down(0)
                """);
        // CPython 3.13 does not recurse on the C stack for Python calls: frames grow until memory, fuel or time ends.
        assertThat(e.success()).isFalse();
        assertThat(e.error().type()).isIn(ErrorType.MEMORY_EXHAUSTED, ErrorType.FUEL_EXHAUSTED, ErrorType.TIMEOUT);
        assertHostHealthy();
    }

    @Test
    void outputFloodIsCappedAndTheResultSurvives() throws Exception {
        ByteArrayOutputStream live = new ByteArrayOutputStream();
        Envelope e = engine.run(TaskRequest.source("main.py", """
                def main():
                    line = "x" * 1000
                    for _ in range(20000):
                        print(line)
                    return "done"
                """).stdout(live).build());
        assertThat(e.success()).as(e.error() == null ? "" : e.error().message()).isTrue();
        assertThat(e.result().asText()).isEqualTo("done");
        assertThat(e.execution().stdout().length()).isLessThan(1_100_000);
        assertThat(e.execution().stdout()).contains("truncated");
        assertHostHealthy();
    }

    @Test
    void junkOnTheHostChannelIsRefused() throws Exception {
        Envelope e = run("""
                import os
                def main():
                    os.write(0, b'{"op": "call", "task": 42, "args": "nope"\\n')
                    os.write(0, b'not json at all\\n')
                    os.write(0, b'{"op": "escalate"}\\n')
                    return os.read(0, 4096).decode()
                """);
        // Whatever the guest reads back, it cannot make the host fail or grant anything.
        assertThat(e.error() == null || e.error().type() != ErrorType.INTERNAL_ERROR).as(e.toJson()).isTrue();
        assertHostHealthy();
    }

    @Test
    void endlessSubTasksStopAtTheCeiling() throws Exception {
        Envelope e = run("""
                from capsule import task

                @task(name="spawn")
                def spawn(n):
                    out = spawn(n + 1)
                    return out if out["success"] else {"stopped_at": n, "error": out["error"]}

                @task(name="main")
                def main():
                    return spawn(0)
                """, Ceilings.DEFAULT.withSubtasks(20, 5));
        assertThat(e.success()).as(e.toJson()).isTrue();
        // main's child reached depth 5 and was refused a sixth level.
        String json = e.toJson();
        assertThat(json).contains("stopped_at").contains("at most 5 deep");
        assertHostHealthy();
    }

    @Test
    void wideFanOutStopsAtTheSubTaskCount() throws Exception {
        Envelope e = run("""
                from capsule import task

                @task(name="leaf")
                def leaf(i):
                    return i

                @task(name="main")
                def main():
                    results = [leaf(i) for i in range(30)]
                    return [r["success"] for r in results]
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
                from capsule import task

                @task(name="bomb", ram="48MB")
                def bomb():
                    chunks = []
                    while True:
                        chunks.append(bytearray(1 << 20))

                @task(name="main")
                def main():
                    out = bomb()
                    return out["error"]["type"]
                """);
        assertThat(e.success()).as(e.toJson()).isTrue();
        assertThat(e.result().asText()).isEqualTo("memory_exhausted");
        assertHostHealthy();
    }

    @Test
    void ramBelowTheRuntimeMinimumIsInvalid() throws Exception {
        Envelope e = run("""
                from capsule import task

                @task(name="main", ram="1MB")
                def main():
                    return 1
                """);
        assertThat(e.success()).isFalse();
        assertThat(e.error().type()).isEqualTo(ErrorType.INVALID_TASK);
        assertThat(e.error().message()).contains("1MB");
    }

    @Test
    void theCeilingLowersWhatATaskAsksFor() throws Exception {
        Envelope e = run("""
                from capsule import task

                @task(name="main", ram="100GB", timeout="1h")
                def main():
                    data = bytearray(200 * 1024 * 1024)
                    return len(data)
                """, Ceilings.DEFAULT.withMaxRamBytes(96L << 20).withMaxTimeout(Duration.ofSeconds(20)));
        assertThat(e.success()).isFalse();
        assertThat(e.error().type()).isEqualTo(ErrorType.MEMORY_EXHAUSTED);
        assertThat(e.execution().ramUsed()).isLessThanOrEqualTo(96L << 20);
        assertHostHealthy();
    }

    @Test
    void manyFailingTasksInARowLeaveTheEngineUsable() throws Exception {
        for (int i = 0; i < 5; i++) {
            Envelope e = run("def main():\n    raise RuntimeError('boom " + i + "')\n");
            assertThat(e.error().type()).isEqualTo(ErrorType.TASK_ERROR);
            assertThat(e.error().message()).contains("boom " + i);
        }
        assertHostHealthy();
    }
}
