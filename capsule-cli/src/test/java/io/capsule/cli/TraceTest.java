package io.capsule.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.groups.Tuple.tuple;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.capsule.core.CapsuleEngine;
import io.capsule.core.Envelope;
import io.capsule.core.TaskHandle;
import io.capsule.core.TaskRequest;
import io.capsule.core.trace.TraceLog;
import io.capsule.core.trace.TraceRecorder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** .capsule/trace.db: a row per attempt with its parent and outcome, `capsule trace`, and --verbose. */
class TraceTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private Path write(String name, String text) throws Exception {
        Path f = dir.resolve(name);
        Files.createDirectories(f.getParent());
        Files.writeString(f, text);
        return f;
    }

    @Test
    void runWithRetriesAndSubTasksIsTracedAndShown() throws Exception {
        Path main = write("main.py", """
                import capsule
                from capsule import task

                @task(name="flaky", max_retries=2)
                def flaky(x):
                    if capsule.attempt() < 2:
                        raise RuntimeError("SECRET_TOKEN=abc123 attempt %d" % capsule.attempt())
                    return x + 1

                @task(name="slow", timeout="300ms")
                def slow():
                    while True:
                        pass

                @task(name="hungry", compute="LOW")
                def hungry():
                    while True:
                        pass

                @task(name="main")
                def main():
                    return [flaky(1)["result"], slow()["error"]["type"], hungry()["error"]["type"]]
                """);
        CliRunner r = CliRunner.run("run", main.toString(), "--verbose");
        assertThat(r.status()).as(r.stderr()).isZero();

        // --verbose: every task and sub-task, retries with their reason, and what each finished with.
        assertThat(r.stderr())
                .contains("[capsule] task main started")
                .contains("[capsule]   task flaky started\n")
                .contains("[capsule] task flaky retrying (attempt 2) after task_error: RuntimeError: SECRET_TOKEN")
                .contains("[capsule]   task flaky started (attempt 3)")
                .containsPattern("\\[capsule]   task flaky succeeded in \\d+ ms, retries 2, fuel \\S+.*, memory \\d+ MB")
                .containsPattern("\\[capsule]   task slow failed \\(timeout\\) in \\d+ ms, retries 0")
                .containsPattern("\\[capsule]   task hungry failed \\(fuel_exhausted\\) in \\d+ ms, retries 0, fuel \\d+")
                .containsPattern("\\[capsule] task main succeeded in \\d+ ms, retries 0");

        CliRunner trace = CliRunner.run("trace", dir.toString(), "--json");
        assertThat(trace.status()).as(trace.stderr()).isZero();
        JsonNode rows = JSON.readTree(trace.stdout());
        List<JsonNode> list = new ArrayList<>();
        rows.forEach(list::add);
        assertThat(list).extracting(n -> n.get("task_name").asText(), n -> n.get("parent_task_name").asText(null),
                        n -> n.get("attempt").asInt(), n -> n.get("state").asText(), n -> n.get("error_type").asText(null))
                .containsExactly(
                        tuple("main", null, 0, "completed", null),
                        tuple("flaky", "main", 0, "failed", "task_error"),
                        tuple("flaky", "main", 1, "failed", "task_error"),
                        tuple("flaky", "main", 2, "completed", null),
                        tuple("slow", "main", 0, "timed_out", "timeout"),
                        tuple("hungry", "main", 0, "fuel_exhausted", "fuel_exhausted"));
        for (JsonNode row : list) {
            assertThat(row.get("ended_at").asLong()).isGreaterThanOrEqualTo(row.get("started_at").asLong());
            assertThat(row.get("started_at").asLong()).isGreaterThanOrEqualTo(row.get("created_at").asLong());
            assertThat(row.get("ram_used").asLong()).isPositive();
            assertThat(row.get("run_id").asText()).isEqualTo(list.get(0).get("run_id").asText());
        }
        assertThat(list.get(1).get("depth").asInt()).isEqualTo(1);
        assertThat(list.get(3).get("fuel_consumed").asLong()).isPositive();
        assertThat(list.get(5).get("fuel_consumed").asLong()).isGreaterThanOrEqualTo(100_000_000L);
        assertThat(list.get(1).get("parent_task_id").asLong()).isEqualTo(list.get(0).get("task_id").asLong());
        assertThat(new String(Files.readAllBytes(dir.resolve(".capsule/trace.db")))).doesNotContain("abc123");

        CliRunner table = CliRunner.run("trace", main.toString());
        assertThat(table.stdout()).startsWith("RUN ").contains("STATE").contains("  flaky ").contains("timed_out")
                .contains("task_error");
        assertThat(table.stdout().strip().split("\n")).hasSize(7);
    }

    @Test
    void thirtyTwoConcurrentRunsLoseNoRow() throws Exception {
        Path main = write("main.py", """
                from capsule import task

                @task(name="child")
                def child(i):
                    return i * 10

                @task(name="main")
                def main(i):
                    return child(i)["result"]
                """);
        Path db = dir.resolve(".capsule/trace.db");
        List<TaskHandle> handles = new ArrayList<>();
        try (CapsuleEngine engine = CapsuleEngine.builder().build(); TraceRecorder trace = TraceRecorder.open(db)) {
            for (int i = 0; i < 32; i++) {
                handles.add(engine.submit(TaskRequest.file(main).args(List.of(i)).listener(trace).build()));
            }
            for (int i = 0; i < 32; i++) {
                Envelope e = handles.get(i).envelope();
                assertThat(e.success()).as(e.toJson()).isTrue();
                assertThat(e.result().asInt()).isEqualTo(i * 10);
            }
        }
        List<TraceLog.Row> rows = TraceLog.recent(db, 0);
        assertThat(rows).hasSize(64);
        assertThat(rows).allMatch(r -> r.state().equals("completed"));
        Map<String, List<TraceLog.Row>> byRun = new java.util.HashMap<>();
        rows.forEach(r -> byRun.computeIfAbsent(r.runId(), k -> new ArrayList<>()).add(r));
        assertThat(byRun).hasSize(32);
        assertThat(byRun.values()).allSatisfy(run -> assertThat(run)
                .extracting(TraceLog.Row::taskName, TraceLog.Row::parentTaskName)
                .containsExactlyInAnyOrder(tuple("main", null), tuple("child", "main")));
    }

    @Test
    void traceOfAProjectWithoutRuns() {
        CliRunner r = CliRunner.run("trace", dir.toString());
        assertThat(r.status()).isZero();
        assertThat(r.stdout()).contains("No runs recorded");
        assertThat(CliRunner.run("trace", dir.toString(), "--json").stdout().strip()).isEqualTo("[]");
    }
}
