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
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Java API on real TypeScript/JavaScript programs: the same guarantees as for Python. */
class JsApiEndToEndTest extends EngineTest {
    @TempDir
    Path dir;

    private static Envelope run(String source, Object... args) throws Exception {
        return engine.run(TaskRequest.source("main.ts", source).args(List.of(args)).build());
    }

    private Path write(String name, String text) throws Exception {
        Path file = dir.resolve(name);
        Files.createDirectories(file.getParent());
        Files.writeString(file, text);
        return file;
    }

    @Test
    void helloReturnsTheResultAndCapturesConsole() throws Exception {
        Envelope e = run("""
                import { task } from "@capsule-run/sdk";

                export const main = task({ name: "main" }, (who: string): string => {
                  console.log("hello", who, { n: 1 });
                  console.error("to stderr");
                  return `hello ${who}`;
                });
                """, "world");
        assertThat(e.success()).as(e.toJson()).isTrue();
        assertThat(e.result().asText()).isEqualTo("hello world");
        assertThat(e.execution().taskName()).isEqualTo("main");
        assertThat(e.execution().stdout()).isEqualTo("hello world { n: 1 }\n");
        assertThat(e.execution().stderr()).isEqualTo("to stderr\n");
        assertThat(e.execution().ramUsed()).isPositive();
    }

    @Test
    void nestedSubTasksPassStructuredUnicodeArguments() throws Exception {
        Envelope e = run("""
                import { task } from "@capsule-run/sdk";

                type Item = { name: string; tags: string[] };

                export const leaf = task({ name: "leaf", ram: "64MB" }, (item: Item) =>
                  ({ name: item.name.toUpperCase(), tags: [...item.tags, "leaf"] }));

                export const middle = task({ name: "middle" }, async (items: Item[], prefix: string) =>
                  Promise.all(items.map(async (i) => leaf({ ...i, name: prefix + i.name }))));

                export const main = task({ name: "main" }, async (items: Item[]) => ({ out: await middle(items, "→") }));
                """, List.of(Map.of("name", "zoë", "tags", List.of("α", "β"))));
        assertThat(e.success()).as(e.toJson()).isTrue();
        var middle = e.result().get("out");
        assertThat(middle.get("success").asBoolean()).as(middle.toString()).isTrue();
        assertThat(middle.get("execution").get("task_name").asText()).isEqualTo("middle");
        var leaf = middle.get("result").get(0);
        assertThat(leaf.get("success").asBoolean()).isTrue();
        assertThat(leaf.get("result").get("name").asText()).isEqualTo("→ZOË");
        assertThat(leaf.get("result").get("tags").toString()).isEqualTo("[\"α\",\"β\",\"leaf\"]");
        assertThat(leaf.get("execution").get("task_name").asText()).isEqualTo("leaf");
    }

    @Test
    void thrownErrorCarriesMessageAndStack() throws Exception {
        Envelope e = run("""
                function helper(x: string): never {
                  throw new TypeError(`missing ${x}`);
                }

                export function main() {
                  helper("thing");
                }
                """);
        assertThat(e.success()).isFalse();
        assertThat(e.error().type()).isEqualTo(ErrorType.TASK_ERROR);
        assertThat(e.error().message()).startsWith("TypeError: missing thing")
                .contains("at helper (main.ts:2:").contains("at main (main.ts:6:")
                .doesNotContain("function.mjs");
        assertThat(e.result().isNull()).isTrue();
        assertThat(e.execution().taskName()).isEqualTo("main");
    }

    @Test
    void rejectedPromiseAndNonErrorThrowsAreTaskErrors() throws Exception {
        Envelope rejected = run("export async function main() { await null; throw new RangeError('late'); }\n");
        assertThat(rejected.error().type()).isEqualTo(ErrorType.TASK_ERROR);
        assertThat(rejected.error().message()).startsWith("RangeError: late");

        Envelope thrown = run("export function main() { throw { code: 7 }; }\n");
        assertThat(thrown.error().type()).isEqualTo(ErrorType.TASK_ERROR);
        assertThat(thrown.error().message()).contains("code: 7");
    }

    @Test
    void aPromiseThatCanNeverSettleOrAThrowingTimerFailsTheTask() throws Exception {
        Envelope stuck = run("export const main = () => new Promise(() => {});\n");
        assertThat(stuck.error().type()).isEqualTo(ErrorType.TASK_ERROR);
        assertThat(stuck.error().message()).contains("never finished");

        Envelope timer = run("""
                export async function main() {
                  setTimeout(() => { throw new Error("boom in timer"); }, 0);
                  await new Promise((r) => setTimeout(r, 50));
                  return "not reached";
                }
                """);
        assertThat(timer.error().type()).isEqualTo(ErrorType.TASK_ERROR);
        assertThat(timer.error().message()).contains("Uncaught exception in a timer callback").contains("boom in timer");
    }

    @Test
    void busyLoopStopsAtItsTimeout() throws Exception {
        long start = System.nanoTime();
        Envelope e = run("""
                import { task } from "@capsule-run/sdk";
                export const main = task({ name: "main", timeout: "1s" }, () => { for (;;) {} });
                """);
        long ms = (System.nanoTime() - start) / 1_000_000;
        assertThat(e.error().type()).as(e.toJson()).isEqualTo(ErrorType.TIMEOUT);
        assertThat(e.error().message()).isEqualTo("Task exceeded 1s timeout limit");
        assertThat(ms).isLessThan(2500);
        assertThat(e.execution().durationMs()).isBetween(900L, 1900L);

        Envelope next = run("export const main = () => 6 * 7;\n");
        assertThat(next.success()).as(next.toJson()).isTrue();
        assertThat(next.result().asInt()).isEqualTo(42);
    }

    @Test
    void timeoutAlsoStopsATaskWaitingOnTimers() throws Exception {
        Envelope e = run("""
                import { task } from "@capsule-run/sdk";
                export const main = task({ name: "main", timeout: 300 }, async () => {
                  await new Promise((r) => setTimeout(r, 60_000));
                });
                """);
        assertThat(e.error().type()).isEqualTo(ErrorType.TIMEOUT);
        assertThat(e.execution().durationMs()).isLessThan(1500L);
    }

    @Test
    void memoryBombFailsAndTheHostStaysHealthy() throws Exception {
        Envelope e = run("""
                import { task } from "@capsule-run/sdk";
                export const main = task({ name: "main", ram: "32MB" }, () => {
                  const hoard: number[][] = [];
                  for (;;) hoard.push(new Array(1_000_000).fill(hoard.length));
                });
                """);
        assertThat(e.success()).isFalse();
        assertThat(e.error().type()).as(e.toJson()).isEqualTo(ErrorType.MEMORY_EXHAUSTED);
        assertThat(e.error().message()).contains("32MB");
        assertThat(e.execution().ramUsed()).isLessThanOrEqualTo(32L << 20);

        Envelope big = run("""
                import { task } from "@capsule-run/sdk";
                export const main = task({ name: "main", ram: "32MB" }, () => "x".repeat(64 * 1024 * 1024).length);
                """);
        assertThat(big.error().type()).as(big.toJson()).isEqualTo(ErrorType.MEMORY_EXHAUSTED);

        Envelope next = run("export const main = () => [1, 2, 3].reduce((a, b) => a + b);\n");
        assertThat(next.success()).isTrue();
        assertThat(next.result().asInt()).isEqualTo(6);
    }

    @Test
    void runawayRecursionIsTheTasksErrorAndTheHostStaysHealthy() throws Exception {
        Envelope e = run("export function main() { const f = (n: number): number => f(n + 1) + 1; return f(0); }\n");
        assertThat(e.success()).isFalse();
        assertThat(e.error().type()).as(e.toJson()).isEqualTo(ErrorType.TASK_ERROR);
        assertThat(e.error().message()).contains("recursed too deeply");

        Envelope next = run("export const main = () => 'fine';\n");
        assertThat(next.result().asText()).isEqualTo("fine");
    }

    @Test
    void fuelIsMeteredDeterministicallyAndEnforced() throws Exception {
        String source = """
                import { task } from "@capsule-run/sdk";
                export const spin = task({ name: "spin", compute: 5_000_000 }, () => { let x = 0; for (;;) x++; });
                export const main = task({ name: "main", compute: "LOW" }, (withChild: boolean) => {
                  let s = 0;
                  for (let i = 0; i < 10000; i++) s += i;
                  return { s, child: withChild ? spin() : null };
                });
                """;
        // The same work costs the same fuel (a child's envelope would add its varying duration_ms).
        Envelope first = run(source, false);
        Envelope second = run(source, false);
        assertThat(first.success()).as(first.toJson()).isTrue();
        assertThat(first.execution().fuelConsumed()).isPositive().isEqualTo(second.execution().fuelConsumed());

        var child = run(source, true).result().get("child");
        assertThat(child.get("error").get("type").asText()).isEqualTo("fuel_exhausted");
        assertThat(child.get("error").get("message").asText()).isEqualTo("Task exceeded its fuel budget of 5000000 units");
        assertThat(child.get("execution").get("fuel_consumed").asLong()).isEqualTo(5_000_000L);

        Envelope low = run("""
                import { task } from "@capsule-run/sdk";
                export const main = task({ name: "main", compute: "LOW" }, () => { for (;;) {} });
                """);
        assertThat(low.error().type()).isEqualTo(ErrorType.FUEL_EXHAUSTED);
        assertThat(low.execution().fuelConsumed()).isEqualTo(100_000_000L);
    }

    @Test
    void retriesCountAttemptsActuallyRetried() throws Exception {
        Envelope e = run("""
                import { task, attempt } from "@capsule-run/sdk";
                export const main = task({ name: "main", maxRetries: 2 }, () => {
                  if (attempt() < 2) throw new Error(`flaky, attempt ${attempt()}`);
                  return `ok on attempt ${attempt()}`;
                });
                """);
        assertThat(e.success()).as(e.toJson()).isTrue();
        assertThat(e.result().asText()).isEqualTo("ok on attempt 2");
        assertThat(e.execution().retries()).isEqualTo(2);

        Envelope exhausted = run("""
                import { task } from "@capsule-run/sdk";
                export const main = task({ name: "main", maxRetries: 1 }, () => { throw new Error("always"); });
                """);
        assertThat(exhausted.success()).isFalse();
        assertThat(exhausted.execution().retries()).isEqualTo(1);
    }

    @Test
    void subTaskRetriesAreAppliedByTheHost() throws Exception {
        Envelope e = run("""
                import { task, attempt } from "@capsule-run/sdk";
                export const flaky = task({ name: "flaky", maxRetries: 3 }, () => {
                  if (attempt() === 0) throw new Error("first attempt fails");
                  return attempt();
                });
                export const main = task({ name: "main" }, () => flaky());
                """);
        assertThat(e.success()).as(e.toJson()).isTrue();
        assertThat(e.result().get("success").asBoolean()).isTrue();
        assertThat(e.result().get("result").asInt()).isEqualTo(1);
        assertThat(e.result().get("execution").get("retries").asInt()).isEqualTo(1);
    }

    @Test
    void invalidOptionsAreInvalidTaskWithClearMessages() throws Exception {
        String template = """
                import { task } from "@capsule-run/sdk";
                export const main = task({ name: "main", %s }, () => 1);
                """;
        assertInvalid(template.formatted("ram: \"lots\""), "task 'main'", "ram", "\"lots\"");
        assertInvalid(template.formatted("timeout: \"-1s\""), "task 'main'", "timeout", "\"-1s\"");
        assertInvalid(template.formatted("compute: \"TURBO\""), "task 'main'", "compute", "LOW, MEDIUM, HIGH");
        assertInvalid(template.formatted("maxRetries: -1"), "task 'main'", "maxRetries", "0 to 1000");
        assertInvalid(template.formatted("allowedFiles: [{ path: \"./d\", mode: \"rwx\" }]"), "task 'main'", "mode", "\"ro\"");
        assertInvalid(template.formatted("colour: \"blue\""), "task 'main'", "unknown option 'colour'", "known options");
        assertInvalid("""
                import { task } from "@capsule-run/sdk";
                export const main = task({ compute: "LOW" } as any, () => 1);
                """, "'name' is required");
        assertInvalid("""
                import { task } from "@capsule-run/sdk";
                export const a = task({ name: "main" }, () => 1);
                export const b = task({ name: "main" }, () => 2);
                """, "declared more than once: main");
        assertInvalid("""
                import { task } from "@capsule-run/sdk";
                export const child = task({ name: "child", ram: 0 }, () => 1);
                export const main = task({ name: "main" }, () => child());
                """, "task 'child'", "ram");
    }

    private static void assertInvalid(String source, String... fragments) throws Exception {
        Envelope e = run(source);
        assertThat(e.success()).isFalse();
        assertThat(e.error().type()).as(e.toJson()).isEqualTo(ErrorType.INVALID_TASK);
        assertThat(e.error().message()).contains(fragments);
    }

    @Test
    void unknownTaskAndMissingMainAreInvalidTask() throws Exception {
        Envelope e = engine.run(TaskRequest.source("main.ts", "export const main = () => 1;\n").task("nope").build());
        assertThat(e.error().type()).isEqualTo(ErrorType.INVALID_TASK);
        assertThat(e.error().message()).contains("No task named 'nope'");

        Envelope none = run("export const x = 1;\n");
        assertThat(none.error().type()).isEqualTo(ErrorType.INVALID_TASK);
        assertThat(none.error().message()).contains("no exported main function");
    }

    @Test
    void unserialisableResultIsTaskError() throws Exception {
        Envelope e = run("export const main = () => ({ big: 10n });\n");
        assertThat(e.error().type()).isEqualTo(ErrorType.TASK_ERROR);
        assertThat(e.error().message()).contains("not JSON-serialisable");
    }

    @Test
    void nodeBasicsWork() throws Exception {
        Envelope e = engine.run(TaskRequest.source("main.js", """
                export async function main(a, b) {
                  const t0 = Date.now();
                  await new Promise((r) => setTimeout(r, 20));
                  const order = [];
                  setTimeout(() => order.push("timeout"), 0);
                  queueMicrotask(() => order.push("microtask"));
                  await new Promise((r) => setTimeout(r, 5));
                  const bytes = new TextEncoder().encode("héllo");
                  return {
                    waited: Date.now() - t0 >= 20,
                    order,
                    argv: process.argv.slice(2),
                    env: process.env,
                    json: JSON.parse('{"x":[1,2]}'),
                    text: new TextDecoder().decode(bytes),
                    bytes: bytes.length,
                    random: Math.random() !== Math.random(),
                  };
                }
                """).args(List.of("1", "2")).hostEnvironment(Map.of("SECRET", "s3cret")).build());
        assertThat(e.success()).as(e.toJson()).isTrue();
        assertThat(e.result().toString()).isEqualTo("{\"waited\":true,\"order\":[\"microtask\",\"timeout\"],"
                + "\"argv\":[\"1\",\"2\"],\"env\":{},\"json\":{\"x\":[1,2]},\"text\":\"héllo\",\"bytes\":6,\"random\":true}");
    }

    @Test
    void pathModuleFollowsNode() throws Exception {
        Envelope e = run("""
                import path, { join, resolve } from "node:path";
                const { relative } = require("path");
                export const main = () => [join("a", "../b", "c.txt"), resolve("x"), path.dirname("/a/b/c"),
                  path.basename("/a/b.ts", ".ts"), path.extname("f.tar.gz"), relative("/a/b", "/a/c/d"),
                  path.normalize("/a//b/../c/"), path.parse("/x/y.js").name, path.isAbsolute("./q")];
                """);
        assertThat(e.success()).as(e.toJson()).isTrue();
        assertThat(e.result().toString()).isEqualTo(
                "[\"b/c.txt\",\"/app/x\",\"/a/b\",\"b\",\".gz\",\"../c/d\",\"/a/c/\",\"y\",false]");
    }

    @Test
    void processEnvHoldsOnlyAllowedVariables() throws Exception {
        Envelope e = engine.run(TaskRequest.source("main.ts", """
                import { task } from "@capsule-run/sdk";
                export const main = task({ name: "main", envVariables: ["GREETING", "ABSENT"] },
                  () => ({ env: process.env }));
                """).hostEnvironment(Map.of("GREETING", "hi", "SECRET", "s3cret")).build());
        assertThat(e.success()).as(e.toJson()).isTrue();
        assertThat(e.result().get("env").toString()).isEqualTo("{\"GREETING\":\"hi\"}");
    }

    @Test
    void multiFileProjectWithRelativeImportsAndNpmPackages() throws Exception {
        write("lib/util.ts", """
                import { helper } from "./helper.js";
                export const double = (x: number): number => helper(x) * 2;
                export default "util-default";
                """);
        write("lib/helper.ts", "export function helper(x: number) { return x; }\n");
        write("data.json", "{\"factor\": 10}\n");
        // A CommonJS package with a nested dependency, and an ES module package with an exports map.
        write("node_modules/left-pad/package.json", "{\"name\": \"left-pad\", \"main\": \"lib/index.js\"}");
        write("node_modules/left-pad/lib/index.js", """
                'use strict';
                const repeat = require('repeat-str');
                module.exports = function leftPad(s, n, c) { s = String(s); return repeat(c || ' ', Math.max(0, n - s.length)) + s; };
                """);
        write("node_modules/repeat-str/package.json", "{\"name\": \"repeat-str\"}");
        write("node_modules/repeat-str/index.js", "module.exports = (s, n) => s.repeat(n);\n");
        write("node_modules/@acme/shout/package.json", """
                {"name": "@acme/shout", "type": "module",
                 "exports": {".": {"import": "./dist/shout.mjs", "require": "./dist/shout.cjs"}, "./extra": "./dist/extra.mjs"}}
                """);
        write("node_modules/@acme/shout/dist/shout.mjs", "export const shout = (s) => s.toUpperCase() + '!';\n");
        write("node_modules/@acme/shout/dist/extra.mjs", "export * from './shout.mjs';\nexport const version = 3;\n");
        Path main = write("main.ts", """
                import { task } from "@capsule-run/sdk";
                import utilDefault, { double } from "./lib/util";
                import * as util from "./lib/util.ts";
                import leftPad from "left-pad";
                import { shout } from "@acme/shout";
                import { version, shout as again } from "@acme/shout/extra";
                import data from "./data.json";

                export const main = task({ name: "main" }, async (n: number) => {
                  const lazy = await import("./lib/helper");
                  return [double(n), util.double(1), utilDefault, leftPad(n, 5, "0"), shout("hi"), again("x"),
                    version, data.factor, lazy.helper(7)];
                });
                """);
        Envelope e = engine.run(TaskRequest.file(main).args(List.of(21)).build());
        assertThat(e.success()).as(e.toJson()).isTrue();
        assertThat(e.result().toString()).isEqualTo("[42,2,\"util-default\",\"00021\",\"HI!\",\"X!\",3,10,7]");
    }

    @Test
    void missingModuleIsAClearError() throws Exception {
        Envelope e = run("import { nope } from \"./nowhere\";\nexport const main = () => nope;\n");
        assertThat(e.error().type()).isEqualTo(ErrorType.INVALID_TASK);
        assertThat(e.error().message()).contains("main.ts").contains("cannot find module './nowhere'");

        Envelope pkg = run("import x from \"not-installed\";\nexport const main = () => x;\n");
        assertThat(pkg.error().message()).contains("cannot find module 'not-installed'").contains("node_modules");

        Envelope dynamic = run("export function main() { return require('also-missing'); }\n");
        assertThat(dynamic.error().type()).isEqualTo(ErrorType.TASK_ERROR);
        assertThat(dynamic.error().message()).contains("Cannot find module 'also-missing'");
    }

    @Test
    void importsCannotLeaveTheProject() throws Exception {
        Path outside = Files.createTempFile("capsule-outside", ".js");
        try {
            Files.writeString(outside, "export const secret = 'outside';\n");
            Path project = Files.createDirectories(dir.resolve("project"));
            Files.createSymbolicLink(project.resolve("link.js"), outside);
            Files.writeString(project.resolve("capsule.toml"), "[workflow]\nname = \"t\"\n");
            Files.writeString(project.resolve("main.ts"), "import { secret } from './link.js';\nexport const main = () => secret;\n");
            Envelope e = engine.run(TaskRequest.file(project.resolve("main.ts")).projectRoot(project).build());
            assertThat(e.error().type()).isEqualTo(ErrorType.INVALID_TASK);
            assertThat(e.error().message()).contains("outside the project");

            Files.writeString(project.resolve("main.ts"), "import { x } from '../../etc/passwd';\nexport const main = () => x;\n");
            Envelope up = engine.run(TaskRequest.file(project.resolve("main.ts")).projectRoot(project).build());
            assertThat(up.error().message()).contains("outside the project");
        } finally {
            Files.deleteIfExists(outside);
        }
    }

    @Test
    void syntaxErrorNamesFileAndLine() throws Exception {
        write("lib/broken.ts", "export const ok = 1;\nexport const bad = ;\n");
        Path main = write("main.ts", "import { ok } from './lib/broken';\nexport const main = () => ok;\n");
        Envelope e = engine.run(TaskRequest.file(main).build());
        assertThat(e.error().type()).isEqualTo(ErrorType.INVALID_TASK);
        assertThat(e.error().message()).startsWith("lib/broken.ts:2:").contains("Expression expected");
    }

    @Test
    void sixteenConcurrentTasksEachGetTheirOwnResult() throws Exception {
        String source = """
                let counter = 0;
                export function main(n: number) {
                  counter += 1;
                  (globalThis as any).seen = n;
                  return { n, square: n * n, counter };
                }
                """;
        List<TaskHandle> handles = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            handles.add(engine.submit(TaskRequest.source("main.ts", source).args(List.of(i)).build()));
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
    void noStateLeaksFromOneTaskToTheNext() throws Exception {
        String source = """
                export function main() {
                  const seen = { global: (globalThis as any).leak ?? null, proto: (Array.prototype as any).leak ?? null };
                  (globalThis as any).leak = 1;
                  (Array.prototype as any).leak = 2;
                  return seen;
                }
                """;
        for (int i = 0; i < 3; i++) {
            Envelope e = run(source);
            assertThat(e.success()).as(e.toJson()).isTrue();
            assertThat(e.result().toString()).isEqualTo("{\"global\":null,\"proto\":null}");
        }
    }

    @Test
    void cancelStopsARunningTask() throws Exception {
        TaskHandle h = engine.submit(TaskRequest.source("main.js", "export function main() { for (;;) {} }\n").build());
        Thread.sleep(1000);
        long start = System.nanoTime();
        h.cancel();
        Envelope e = h.envelope();
        assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(1000);
        assertThat(e.execution().cancelled()).isTrue();
    }
}
