package io.capsule.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.capsule.core.Envelope;
import io.capsule.core.ErrorType;
import io.capsule.core.TaskHandle;
import io.capsule.core.TaskRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Java API on real Python programs: every field of the envelope, limits, retries, concurrency. */
class PythonApiEndToEndTest extends EngineTest {
    @TempDir
    Path dir;

    private static Envelope run(String source, Object... args) throws Exception {
        return engine.run(TaskRequest.source("main.py", source).args(List.of(args)).build());
    }

    @Test
    void nestedSubTasksPassStructuredUnicodeArguments() throws Exception {
        Envelope e = run("""
                from capsule import task

                @task(name="leaf", ram="64MB")
                def leaf(item: dict) -> dict:
                    return {"name": item["name"].upper(), "tags": item["tags"] + ["leaf"]}

                @task(name="middle")
                def middle(items: list, *, prefix: str) -> list:
                    return [leaf(dict(i, name=prefix + i["name"])) for i in items]

                @task(name="main")
                def main(items):
                    return {"out": middle(items, prefix="→")}
                """, List.of(java.util.Map.of("name", "zoë", "tags", List.of("α", "β"))));
        assertThat(e.success()).as(e.toJson()).isTrue();
        var middle = e.result().get("out");
        assertThat(middle.get("success").asBoolean()).isTrue();
        assertThat(middle.get("execution").get("task_name").asText()).isEqualTo("middle");
        var leaf = middle.get("result").get(0);
        assertThat(leaf.get("success").asBoolean()).isTrue();
        assertThat(leaf.get("result").get("name").asText()).isEqualTo("→ZOË");
        assertThat(leaf.get("result").get("tags").toString()).isEqualTo("[\"α\",\"β\",\"leaf\"]");
        assertThat(leaf.get("execution").get("task_name").asText()).isEqualTo("leaf");
    }

    @Test
    void guestExceptionCarriesMessageAndTraceback() throws Exception {
        Envelope e = run("""
                def helper(x):
                    raise KeyError(f"missing {x}")

                def main():
                    helper("thing")
                """);
        assertThat(e.success()).isFalse();
        assertThat(e.error().type()).isEqualTo(ErrorType.TASK_ERROR);
        assertThat(e.error().message()).contains("KeyError").contains("missing thing")
                .contains("Traceback (most recent call last)").contains("in helper");
        assertThat(e.result().isNull()).isTrue();
        assertThat(e.execution().taskName()).isEqualTo("main");
    }

    @Test
    void busyLoopStopsAtItsTimeout() throws Exception {
        long start = System.nanoTime();
        Envelope e = run("""
                from capsule import task

                @task(name="main", timeout="1s")
                def main():
                    while True:
                        pass
                """);
        long ms = (System.nanoTime() - start) / 1_000_000;
        assertThat(e.error().type()).isEqualTo(ErrorType.TIMEOUT);
        assertThat(e.error().message()).isEqualTo("Task exceeded 1s timeout limit");
        assertThat(ms).isLessThan(2000);
        assertThat(e.execution().durationMs()).isBetween(900L, 1900L);
    }

    @Test
    void hugeAllocationFailsAndTheHostStaysHealthy() throws Exception {
        Envelope e = run("""
                from capsule import task

                @task(name="main", ram="64MB")
                def main():
                    data = bytearray(1024 * 1024 * 1024)
                    return len(data)
                """);
        assertThat(e.success()).isFalse();
        assertThat(e.error().type()).isEqualTo(ErrorType.MEMORY_EXHAUSTED);
        assertThat(e.error().message()).contains("64MB").contains("MemoryError");
        assertThat(e.execution().ramUsed()).isLessThanOrEqualTo(64L << 20);

        Envelope next = run("def main():\n    return sum(range(10))\n");
        assertThat(next.success()).isTrue();
        assertThat(next.result().asInt()).isEqualTo(45);
    }

    @Test
    void retriesCountAttemptsActuallyRetried() throws Exception {
        Envelope e = run("""
                import capsule
                from capsule import task

                @task(name="main", max_retries=2)
                def main():
                    if capsule.attempt() < 2:
                        raise RuntimeError("flaky, attempt %d" % capsule.attempt())
                    return "ok on attempt %d" % capsule.attempt()
                """);
        assertThat(e.success()).as(e.toJson()).isTrue();
        assertThat(e.result().asText()).isEqualTo("ok on attempt 2");
        assertThat(e.execution().retries()).isEqualTo(2);

        Envelope exhausted = run("""
                from capsule import task

                @task(name="main", max_retries=1)
                def main():
                    raise RuntimeError("always")
                """);
        assertThat(exhausted.success()).isFalse();
        assertThat(exhausted.execution().retries()).isEqualTo(1);
    }

    @Test
    void subTaskRetriesAreAppliedByTheHost() throws Exception {
        Envelope e = run("""
                import capsule
                from capsule import task

                @task(name="flaky", max_retries=3)
                def flaky():
                    if capsule.attempt() == 0:
                        raise RuntimeError("first attempt fails")
                    return capsule.attempt()

                @task(name="main")
                def main():
                    return flaky()
                """);
        assertThat(e.success()).isTrue();
        assertThat(e.result().get("success").asBoolean()).isTrue();
        assertThat(e.result().get("result").asInt()).isEqualTo(1);
        assertThat(e.result().get("execution").get("retries").asInt()).isEqualTo(1);
    }

    @Test
    void unknownTaskIsInvalidTask() throws Exception {
        Envelope e = engine.run(TaskRequest.source("main.py", "def main():\n    return 1\n").task("nope").build());
        assertThat(e.error().type()).isEqualTo(ErrorType.INVALID_TASK);
        assertThat(e.error().message()).contains("No task named 'nope'");

        Envelope none = run("x = 1\n");
        assertThat(none.error().type()).isEqualTo(ErrorType.INVALID_TASK);
        assertThat(none.error().message()).contains("no main() function");
    }

    @Test
    void invalidOptionsAreInvalidTaskWithClearMessages() throws Exception {
        String template = """
                from capsule import task

                @task(name="main", %s)
                def main():
                    return 1
                """;
        assertInvalid(template.formatted("ram=\"lots\""), "ram", "\"lots\"");
        assertInvalid(template.formatted("timeout=\"-1s\""), "timeout", "\"-1s\"");
        assertInvalid(template.formatted("compute=\"TURBO\""), "compute", "LOW, MEDIUM, HIGH");
        assertInvalid(template.formatted("max_retries=-1"), "max_retries", "0 to 1000");
        assertInvalid(template.formatted("allowed_files=[{\"path\": \"./d\", \"mode\": \"rwx\"}]"), "mode", "\"ro\"");
        assertInvalid(template.formatted("colour=\"blue\""), "unknown option 'colour'", "known options");
    }

    private static void assertInvalid(String source, String... fragments) throws Exception {
        Envelope e = run(source);
        assertThat(e.success()).isFalse();
        assertThat(e.error().type()).as(e.toJson()).isEqualTo(ErrorType.INVALID_TASK);
        assertThat(e.error().message()).contains("task 'main'").contains(fragments);
    }

    @Test
    void invalidSubTaskOptionsFailOnlyThatCall() throws Exception {
        Envelope e = run("""
                from capsule import task

                @task(name="child", compute="TURBO")
                def child():
                    return 1

                def main():
                    return child()
                """);
        // Every task's options are checked when the program starts.
        assertThat(e.error().type()).isEqualTo(ErrorType.INVALID_TASK);
        assertThat(e.error().message()).contains("task 'child'").contains("TURBO");
    }

    @Test
    void unserialisableResultIsTaskError() throws Exception {
        Envelope e = run("def main():\n    return {1, 2}\n");
        assertThat(e.error().type()).isEqualTo(ErrorType.TASK_ERROR);
        assertThat(e.error().message()).contains("not JSON-serialisable");
    }

    @Test
    void sixteenConcurrentTasksEachGetTheirOwnResult() throws Exception {
        String source = """
                import os
                counter = 0

                def main(n):
                    global counter
                    counter += 1
                    os.environ["SEEN"] = str(n)
                    return {"n": n, "square": n * n, "counter": counter}
                """;
        List<TaskHandle> handles = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            handles.add(engine.submit(TaskRequest.source("main.py", source).args(List.of(i)).build()));
        }
        for (int i = 0; i < 16; i++) {
            Envelope e = handles.get(i).envelope();
            assertThat(e.success()).as(e.toJson()).isTrue();
            assertThat(e.result().get("n").asInt()).isEqualTo(i);
            assertThat(e.result().get("square").asInt()).isEqualTo(i * i);
            assertThat(e.result().get("counter").asInt()).as("fresh instance per task").isEqualTo(1);
        }
    }

    @Test
    void cancelStopsARunningTask() throws Exception {
        TaskHandle h = engine.submit(TaskRequest.source("main.py", "def main():\n    while True:\n        pass\n").build());
        Thread.sleep(1500);
        long start = System.nanoTime();
        h.cancel();
        Envelope e = h.envelope();
        assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(1000);
        assertThat(e.success()).isFalse();
        assertThat(e.execution().cancelled()).isTrue();
        assertThat(e.error().message()).contains("cancelled");
    }

    @Test
    void runsAFileWithSiblingModules() throws Exception {
        Files.writeString(dir.resolve("helpers.py"), "def double(x):\n    return 2 * x\n");
        Files.writeString(dir.resolve("main.py"), "import helpers\n\ndef main(x):\n    return helpers.double(x)\n");
        Envelope e = engine.run(TaskRequest.file(dir.resolve("main.py")).args(List.of(21)).build());
        assertThat(e.success()).as(e.toJson()).isTrue();
        assertThat(e.result().asInt()).isEqualTo(42);
    }

    @Test
    void entryInASubdirectoryImportsItsSiblingsAndRootPackages() throws Exception {
        Files.createDirectories(dir.resolve("src"));
        Files.createDirectories(dir.resolve("shared"));
        Files.writeString(dir.resolve("shared/__init__.py"), "");
        Files.writeString(dir.resolve("shared/text.py"), "def shout(s):\n    return s.upper()\n");
        Files.writeString(dir.resolve("src/util.py"), "def double(x):\n    return 2 * x\n");
        Files.writeString(dir.resolve("src/main.py"),
                "import util\nfrom shared.text import shout\n\ndef main(x):\n    return [util.double(x), shout('ok')]\n");
        Envelope e = engine.run(TaskRequest.file(dir.resolve("src/main.py")).projectRoot(dir).args(List.of(21)).build());
        assertThat(e.success()).as(e.toJson()).isTrue();
        assertThat(e.result().toString()).isEqualTo("[42,\"OK\"]");
    }

    @Test
    void commonLibrariesWorkInTaskCode() throws Exception {
        Envelope e = run("""
                import json, re, typing
                from dataclasses import dataclass, asdict

                @dataclass
                class Point:
                    x: int
                    y: int

                def main():
                    p = Point(1, 2)
                    return {"p": asdict(p), "j": json.loads('{"a": [1]}'), "r": re.findall(r"\\d", "a1b2")}
                """);
        assertThat(e.success()).as(e.toJson()).isTrue();
        assertThat(e.result().toString()).isEqualTo("{\"p\":{\"x\":1,\"y\":2},\"j\":{\"a\":[1]},\"r\":[\"1\",\"2\"]}");
    }

    @Test
    void noStateLeaksFromOneTaskToTheNext() throws Exception {
        String source = """
                import sys, json, os

                def main():
                    seen = {
                        "marker": hasattr(json, "capsule_marker"),
                        "module": "leftover_module" in sys.modules,
                        "env": os.environ.get("LEAK"),
                        "builtin": hasattr(__builtins__, "leak") if not isinstance(__builtins__, dict) else "leak" in __builtins__,
                    }
                    json.capsule_marker = True
                    sys.modules["leftover_module"] = json
                    os.environ["LEAK"] = "yes"
                    import builtins
                    builtins.leak = 1
                    return seen
                """;
        for (int i = 0; i < 3; i++) {
            Envelope e = run(source);
            assertThat(e.success()).as(e.toJson()).isTrue();
            assertThat(e.result().toString())
                    .isEqualTo("{\"marker\":false,\"module\":false,\"env\":null,\"builtin\":false}");
        }
    }

    @Test
    void envelopeJsonRoundTrips() throws Exception {
        Envelope e = run("def main():\n    return [1, 'two', None]\n");
        Envelope back = Envelope.fromJson(new com.fasterxml.jackson.databind.ObjectMapper().readTree(e.toJson()));
        assertThat(back).isEqualTo(e);
    }
}
