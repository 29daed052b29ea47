package io.capsule.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.capsule.core.project.ProjectCache;
import io.capsule.js.bundle.Bundler;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The project cache and artifacts for TypeScript/JavaScript: the prepared form is QuickJS bytecode, reused
 * (counted by the cache and by the bundler, not timed) until a source or a used node_modules file changes;
 * a tampered entry is rebuilt; an artifact runs with the sources deleted and without bundling.
 */
class JsCacheTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private Path write(String name, String text) throws Exception {
        Path f = dir.resolve(name);
        Files.createDirectories(f.getParent());
        Files.writeString(f, text);
        return f;
    }

    private static JsonNode result(CliRunner r) throws Exception {
        assertThat(r.status()).as(r.stderr() + r.stdout()).isZero();
        String[] lines = r.stdout().strip().split("\n");
        return JSON.readTree(lines[lines.length - 1]).get("result");
    }

    private List<Path> entries() throws Exception {
        try (Stream<Path> s = Files.list(dir.resolve(".capsule/cache/javascript"))) {
            return s.filter(p -> !p.getFileName().toString().startsWith(".")).toList();
        }
    }

    @Test
    void secondRunReusesTheBytecodeAndEditsToImportsOrPackagesRebuildIt() throws Exception {
        Path main = write("main.ts", """
                import { value } from "./lib/helper";
                import { shout } from "shouter";
                export function main(): string {
                  return shout(value());
                }
                """);
        write("lib/helper.ts", "export const value = (): string => 'first';\n");
        write("node_modules/shouter/package.json", "{\"name\": \"shouter\", \"main\": \"index.js\"}\n");
        write("node_modules/shouter/index.js", "exports.shout = (s) => s.toUpperCase();\n");

        ProjectCache.Stats s0 = ProjectCache.stats();
        assertThat(result(CliRunner.run("run", main.toString(), "--json")).asText()).isEqualTo("FIRST");
        ProjectCache.Stats s1 = ProjectCache.stats();
        assertThat(s1.prepared()).isEqualTo(s0.prepared() + 1);

        long bundles = Bundler.bundles();
        CliRunner second = CliRunner.run("run", main.toString(), "--json", "--verbose");
        assertThat(result(second).asText()).isEqualTo("FIRST");
        ProjectCache.Stats s2 = ProjectCache.stats();
        assertThat(s2.prepared()).isEqualTo(s1.prepared());
        assertThat(s2.reused()).isEqualTo(s1.reused() + 1);
        assertThat(Bundler.bundles()).as("a reused entry is run without bundling").isEqualTo(bundles);
        assertThat(second.stderr()).contains("main.ts loaded from its prepared form");
        assertThat(entries()).hasSize(1);

        // An edit to an imported TypeScript file prepares it again.
        write("lib/helper.ts", "export const value = (): string => 'second';\n");
        assertThat(result(CliRunner.run("run", main.toString(), "--json")).asText()).isEqualTo("SECOND");
        ProjectCache.Stats s3 = ProjectCache.stats();
        assertThat(s3.prepared()).isEqualTo(s2.prepared() + 1);
        assertThat(entries()).hasSize(2);

        // So does an edit to a package the bundle uses (node_modules is not scanned, its used files are checked).
        write("node_modules/shouter/index.js", "exports.shout = (s) => s + '!';\n");
        assertThat(result(CliRunner.run("run", main.toString(), "--json")).asText()).isEqualTo("second!");
        ProjectCache.Stats s4 = ProjectCache.stats();
        assertThat(s4.prepared()).isEqualTo(s3.prepared() + 1);
        // ... and to a package.json that steers resolution.
        write("node_modules/shouter/other.js", "exports.shout = (s) => '<' + s + '>';\n");
        write("node_modules/shouter/package.json", "{\"name\": \"shouter\", \"main\": \"other.js\"}\n");
        assertThat(result(CliRunner.run("run", main.toString(), "--json")).asText()).isEqualTo("<second>");
        ProjectCache.Stats s5 = ProjectCache.stats();
        assertThat(s5.prepared()).isEqualTo(s4.prepared() + 1);

        // ... and installing a package nearer to an importing file, which resolution now picks instead.
        write("lib/helper.ts", "import { shout } from 'shouter';\nexport const value = (): string => shout('x');\n");
        assertThat(result(CliRunner.run("run", main.toString(), "--json")).asText()).isEqualTo("<<x>>");
        ProjectCache.Stats s6 = ProjectCache.stats();
        write("lib/node_modules/shouter/package.json", "{\"name\": \"shouter\"}\n");
        write("lib/node_modules/shouter/index.js", "exports.shout = (s) => 'near ' + s;\n");
        assertThat(result(CliRunner.run("run", main.toString(), "--json")).asText()).isEqualTo("<near x>");
        ProjectCache.Stats s7 = ProjectCache.stats();
        assertThat(s7.prepared()).isEqualTo(s6.prepared() + 1);

        // A file that is neither a source nor used is not.
        write("notes.txt", "not code");
        write("node_modules/unused/index.js", "exports.x = 1;\n");
        assertThat(result(CliRunner.run("run", main.toString(), "--json")).asText()).isEqualTo("<near x>");
        assertThat(ProjectCache.stats().prepared()).isEqualTo(s7.prepared());
        assertThat(ProjectCache.stats().reused()).isEqualTo(s7.reused() + 1);
    }

    @Test
    void aTamperedCacheEntryIsRebuiltNotRun() throws Exception {
        Path main = write("main.js", "export function main() { return 'genuine'; }\n");
        assertThat(result(CliRunner.run("run", main.toString(), "--json")).asText()).isEqualTo("genuine");
        Path bytecode = entries().get(0).resolve("files/program.qjsbc");
        byte[] original = Files.readAllBytes(bytecode);
        byte[] flipped = original.clone();
        flipped[flipped.length / 2] ^= 0x5a;
        Files.write(bytecode, flipped);
        ProjectCache.Stats before = ProjectCache.stats();

        assertThat(result(CliRunner.run("run", main.toString(), "--json")).asText()).isEqualTo("genuine");
        ProjectCache.Stats after = ProjectCache.stats();
        assertThat(after.discarded()).isEqualTo(before.discarded() + 1);
        assertThat(after.prepared()).isEqualTo(before.prepared() + 1);
        assertThat(Files.readAllBytes(bytecode)).isEqualTo(original);

        // A garbled list of the files it depends on outside the sources is not trusted either.
        Files.writeString(entries().get(0).resolve("files/inputs.json"), "{\"not\": \"what was read\"}");
        assertThat(result(CliRunner.run("run", main.toString(), "--json")).asText()).isEqualTo("genuine");
        assertThat(ProjectCache.stats().discarded()).isEqualTo(after.discarded() + 1);
    }

    @Test
    void buildThenExecWithoutTheSourcesOrTheBundler(@TempDir Path elsewhereDir) throws Exception {
        write("capsule.toml", """
                [workflow]
                name = "demo"
                entrypoint = "src/main.ts"

                [tasks]
                default_max_retries = 1
                """);
        Path main = write("src/main.ts", """
                import { task, attempt } from "@capsule-run/sdk";
                import { double } from "./util";
                import config from "../config.json";

                export const main = task({ name: "main" }, (x: string): number => {
                  if (attempt() === 0) {
                    throw new Error("first attempt fails; the artifact's default_max_retries retries it");
                  }
                  return double(Number(x)) + config.offset;
                });

                export function broken(): number {
                  throw new Error("from the artifact");
                }
                """);
        write("src/util.ts", "export function double(v: number): number {\n  return 2 * v;\n}\n");
        write("config.json", "{\"offset\": 0}\n");
        CliRunner build = CliRunner.run("build", main.toString());
        assertThat(build.status()).as(build.stderr()).isZero();
        Path artifact = dir.resolve(".capsule/build/main.capsule");
        assertThat(build.stdout()).contains("built " + artifact).contains("javascript");
        long reused = ProjectCache.stats().reused();
        assertThat(result(CliRunner.run("run", main.toString(), "4", "--json")).asInt()).isEqualTo(8);
        assertThat(ProjectCache.stats().reused()).isEqualTo(reused + 1);

        Path elsewhere = elsewhereDir.resolve("app.capsule");
        Files.move(artifact, elsewhere);
        deleteTree(dir);
        long bundles = Bundler.bundles();
        CliRunner exec = CliRunner.run("exec", elsewhere.toString(), "21", "--json");
        assertThat(exec.status()).as(exec.stderr()).isZero();
        JsonNode env = JSON.readTree(exec.stdout().strip());
        assertThat(env.get("result").asInt()).isEqualTo(42);
        assertThat(env.at("/execution/retries").asInt()).isEqualTo(1);
        assertThat(Bundler.bundles()).as("exec runs the bytecode without bundling or transpiling").isEqualTo(bundles);

        CliRunner plain = CliRunner.run("exec", elsewhere.toString(), "1");
        assertThat(plain.stdout().strip()).isEqualTo("2");
        Files.deleteIfExists(elsewhere);
    }

    @Test
    void aTypeScriptSyntaxErrorFailsTheBuildWithFileAndLine() throws Exception {
        write("main.ts", "import { bad } from './lib';\nexport function main() { return bad; }\n");
        Path lib = write("lib.ts", "const ok: number = 1;\n\nexport const bad = (: number => ok;\n");
        CliRunner build = CliRunner.run("build", dir.resolve("main.ts").toString());
        assertThat(build.status()).isEqualTo(1);
        assertThat(build.stderr()).contains("cannot build").contains("lib.ts:3:");
        assertThat(dir.resolve(".capsule/build/main.capsule")).doesNotExist();

        Files.writeString(lib, "export const bad = 'fixed';\n");
        CliRunner fixed = CliRunner.run("build", dir.resolve("main.ts").toString());
        assertThat(fixed.status()).as(fixed.stderr()).isZero();
        assertThat(dir.resolve(".capsule/build/main.capsule")).isRegularFile();
    }

    private static void deleteTree(Path root) throws Exception {
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
