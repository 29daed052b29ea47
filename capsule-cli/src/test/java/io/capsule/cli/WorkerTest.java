package io.capsule.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.capsule.core.trace.TraceLog;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `capsule worker`: one JSON request per stdin line, one response per stdout line. */
class WorkerTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private PipedOutputStream stdin;
    private final BlockingQueue<String> stdout = new LinkedBlockingQueue<>();
    private CompletableFuture<Integer> exit;

    /** Collects complete lines as the worker prints them. */
    private final class Lines extends OutputStream {
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();

        @Override
        public synchronized void write(int b) {
            if (b == '\n') {
                stdout.add(line.toString(StandardCharsets.UTF_8));
                line.reset();
            } else {
                line.write(b);
            }
        }
    }

    @BeforeEach
    void start() throws Exception {
        stdin = new PipedOutputStream();
        PipedInputStream in = new PipedInputStream(stdin, 1 << 20);
        PrintStream out = new PrintStream(new Lines(), true, StandardCharsets.UTF_8);
        PrintStream err = new PrintStream(OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8);
        exit = CompletableFuture.supplyAsync(() -> CapsuleCli.execute(in, out, err, "worker", "--concurrency", "4",
                "--project", dir.toString()));
    }

    @AfterEach
    void stop() throws Exception {
        stdin.close();
        assertThat(exit.get(60, TimeUnit.SECONDS)).isZero();
    }

    private void send(String line) throws Exception {
        stdin.write((line + "\n").getBytes(StandardCharsets.UTF_8));
        stdin.flush();
    }

    private JsonNode next() throws Exception {
        String line = stdout.poll(120, TimeUnit.SECONDS);
        assertThat(line).as("a response line").isNotNull();
        return JSON.readTree(line);
    }

    private Path write(String name, String text) throws Exception {
        Path f = dir.resolve(name);
        Files.createDirectories(f.getParent());
        Files.writeString(f, text);
        return f;
    }

    private ObjectNode request(Object id) {
        ObjectNode r = JSON.createObjectNode();
        r.set("id", JSON.valueToTree(id));
        return r;
    }

    @Test
    void hundredMixedRequestsEachGetOneAnswerAndTheWorkerSurvives() throws Exception {
        Path main = write("main.py", """
                from capsule import task

                @task(name="main")
                def main(n):
                    return n + 1

                @task(name="boom")
                def boom():
                    raise KeyError("nope")
                """);
        Map<String, String> expected = new HashMap<>(); // id -> "ok:<result>" or the error type
        int unparsable = 0;
        for (int i = 0; i < 100; i++) {
            String id = "r" + i;
            ObjectNode r = request(id);
            switch (i % 10) {
                case 0, 5 -> {
                    r.put("file", main.toString());
                    r.set("args", JSON.valueToTree(List.of(i)));
                    expected.put(id, "ok:" + (i + 1));
                }
                case 1, 6 -> {
                    r.put("source", "def main(x):\n    return x * 2\n");
                    r.set("args", JSON.valueToTree(List.of(i)));
                    expected.put(id, "ok:" + (2 * i));
                }
                case 2 -> {
                    r.put("file", main.toString());
                    r.put("task", "boom");
                    expected.put(id, "task_error");
                }
                case 3 -> {
                    send("{this is not json " + i);
                    unparsable++;
                    continue;
                }
                case 4 -> {
                    r.put("source", "import sys\ndef main():\n    sys.exit(3)\n");
                    expected.put(id, "task_error");
                }
                case 7 -> {
                    r.put("file", main.toString());
                    r.put("colour", "blue");
                    expected.put(id, "invalid_task");
                }
                case 8 -> {
                    r.put("file", dir.resolve("missing.py").toString());
                    expected.put(id, "invalid_task");
                }
                default -> {
                    r.put("file", main.toString());
                    r.put("source", "def main(): pass");
                    expected.put(id, "invalid_task");
                }
            }
            send(r.toString());
        }
        Map<String, String> got = new HashMap<>();
        int nullIds = 0;
        for (int i = 0; i < 100; i++) {
            JsonNode resp = next();
            assertThat(resp.has("success") && resp.has("result") && resp.has("error") && resp.has("execution")).isTrue();
            if (resp.get("id").isNull()) {
                nullIds++;
                assertThat(resp.at("/error/message").asText()).startsWith("request is not JSON");
                continue;
            }
            String outcome = resp.get("success").asBoolean() ? "ok:" + resp.get("result").asText()
                    : resp.at("/error/type").asText();
            assertThat(got.put(resp.get("id").asText(), outcome)).as("one answer per id").isNull();
        }
        assertThat(nullIds).isEqualTo(unparsable);
        assertThat(got).isEqualTo(expected);

        // Still serving, and an edited source is picked up by the next request.
        write("main.py", "def main(n):\n    return n - 1\n");
        ObjectNode again = request(1000);
        again.put("file", main.toString());
        again.set("args", JSON.valueToTree(List.of(10)));
        send(again.toString());
        JsonNode resp = next();
        assertThat(resp.get("id").asInt()).isEqualTo(1000);
        assertThat(resp.get("result").asInt()).isEqualTo(9);

        stdin.close();
        assertThat(exit.get(60, TimeUnit.SECONDS)).isZero();
        // Every task attempt was traced in the project (source requests belong to --project); requests that
        // never reached a task have no attempt.
        List<TraceLog.Row> rows = TraceLog.recent(dir.resolve(".capsule/trace.db"), 0);
        assertThat(rows).hasSize(31 + 30);
    }

    @Test
    void requestsRunConcurrentlyAndAnswerInCompletionOrder() throws Exception {
        Path slow = write("slow.py", """
                import time
                def main():
                    end = time.time() + 3
                    while time.time() < end:
                        pass
                    return "slow"
                """);
        ObjectNode first = request("slow");
        first.put("file", slow.toString());
        send(first.toString());
        ObjectNode second = request("quick");
        second.put("source", "def main():\n    return 'quick'\n");
        send(second.toString());
        assertThat(next().get("id").asText()).isEqualTo("quick");
        assertThat(next().get("id").asText()).isEqualTo("slow");
    }
}
