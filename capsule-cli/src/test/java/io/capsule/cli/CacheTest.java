package io.capsule.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.capsule.core.project.ProjectCache;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The project's .capsule/ cache through the CLI: prepared once, reused (counted by the cache, not timed),
 * rebuilt after an edit or when an entry was tampered with; build writes an artifact that exec runs
 * without the sources.
 */
class CacheTest {
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
        assertThat(r.status()).as(r.stderr()).isZero();
        String[] lines = r.stdout().strip().split("\n");
        return JSON.readTree(lines[lines.length - 1]).get("result");
    }

    private List<Path> entries() throws Exception {
        try (Stream<Path> s = Files.list(dir.resolve(".capsule/cache/python"))) {
            return s.toList();
        }
    }

    @Test
    void secondRunReusesThePreparedProgramAndAnEditRebuildsIt() throws Exception {
        Path main = write("main.py", "from helper import value\n\ndef main():\n    return value()\n");
        write("helper.py", "def value():\n    return 'first'\n");

        ProjectCache.Stats s0 = ProjectCache.stats();
        assertThat(result(CliRunner.run("run", main.toString(), "--json")).asText()).isEqualTo("first");
        ProjectCache.Stats s1 = ProjectCache.stats();
        assertThat(s1.prepared()).isEqualTo(s0.prepared() + 1);
        assertThat(s1.reused()).isEqualTo(s0.reused());

        CliRunner second = CliRunner.run("run", main.toString(), "--json", "--verbose");
        assertThat(result(second).asText()).isEqualTo("first");
        ProjectCache.Stats s2 = ProjectCache.stats();
        assertThat(s2.prepared()).isEqualTo(s1.prepared());
        assertThat(s2.reused()).isEqualTo(s1.reused() + 1);
        assertThat(second.stderr()).contains("main.py loaded from its prepared form");
        assertThat(entries()).hasSize(1);

        // An edit to any source of the project (not just the entry file) prepares it again.
        write("helper.py", "def value():\n    return 'second'\n");
        assertThat(result(CliRunner.run("run", main.toString(), "--json")).asText()).isEqualTo("second");
        ProjectCache.Stats s3 = ProjectCache.stats();
        assertThat(s3.prepared()).isEqualTo(s2.prepared() + 1);
        assertThat(entries()).hasSize(2);

        // A file that is not a source does not.
        write("data.txt", "not code");
        assertThat(result(CliRunner.run("run", main.toString(), "--json")).asText()).isEqualTo("second");
        assertThat(ProjectCache.stats().prepared()).isEqualTo(s3.prepared());
    }

    @Test
    void aTamperedCacheEntryIsRebuiltNotRun() throws Exception {
        Path main = write("main.py", "def main():\n    return 'genuine'\n");
        assertThat(result(CliRunner.run("run", main.toString(), "--json")).asText()).isEqualTo("genuine");
        Path cached = entries().get(0).resolve("files/app/main.py");
        Files.writeString(cached, "def main():\n    return 'planted'\n");
        ProjectCache.Stats before = ProjectCache.stats();

        assertThat(result(CliRunner.run("run", main.toString(), "--json")).asText()).isEqualTo("genuine");
        ProjectCache.Stats after = ProjectCache.stats();
        assertThat(after.discarded()).isEqualTo(before.discarded() + 1);
        assertThat(after.prepared()).isEqualTo(before.prepared() + 1);
        assertThat(Files.readString(cached)).contains("genuine");

        // A garbled manifest too.
        Files.writeString(entries().get(0).resolve("manifest.json"), "\u0000\u0001garbage");
        assertThat(result(CliRunner.run("run", main.toString(), "--json")).asText()).isEqualTo("genuine");
        assertThat(ProjectCache.stats().discarded()).isEqualTo(after.discarded() + 1);
    }

    @Test
    void buildThenExecWithoutTheSources(@TempDir Path elsewhereDir) throws Exception {
        write("capsule.toml", """
                [workflow]
                name = "demo"
                entrypoint = "main.py"

                [tasks]
                default_max_retries = 1
                """);
        Path main = write("main.py", """
                import capsule
                from lib.util import double

                def main(x):
                    if capsule.attempt() == 0:
                        raise RuntimeError("first attempt fails; the artifact's default_max_retries retries it")
                    return double(int(x))
                """);
        write("lib/util.py", "def double(v):\n    return 2 * v\n");
        CliRunner build = CliRunner.run("build", main.toString());
        assertThat(build.status()).as(build.stderr()).isZero();
        Path artifact = dir.resolve(".capsule/build/main.capsule");
        assertThat(build.stdout()).contains("built " + artifact);
        assertThat(artifact).isRegularFile();
        // Building prepared the cache, so the next run reuses it.
        long reused = ProjectCache.stats().reused();
        assertThat(result(CliRunner.run("run", main.toString(), "4", "--json")).asInt()).isEqualTo(8);
        assertThat(ProjectCache.stats().reused()).isEqualTo(reused + 1);

        Path elsewhere = elsewhereDir.resolve("app.capsule");
        Files.move(artifact, elsewhere);
        deleteTree(dir);
        CliRunner exec = CliRunner.run("exec", elsewhere.toString(), "21", "--json");
        JsonNode env = JSON.readTree(exec.stdout().strip());
        assertThat(exec.status()).as(exec.stderr()).isZero();
        assertThat(env.get("result").asInt()).isEqualTo(42);
        assertThat(env.at("/execution/retries").asInt()).isEqualTo(1);

        CliRunner plain = CliRunner.run("exec", elsewhere.toString(), "1");
        assertThat(plain.stdout().strip()).isEqualTo("2");

        // A damaged artifact is refused; a missing one is a usage error.
        Path damaged = elsewhere.resolveSibling("damaged.capsule");
        try (var in = new java.util.zip.ZipInputStream(Files.newInputStream(elsewhere));
                var out = new java.util.zip.ZipOutputStream(Files.newOutputStream(damaged))) {
            for (java.util.zip.ZipEntry e; (e = in.getNextEntry()) != null; ) {
                out.putNextEntry(new java.util.zip.ZipEntry(e.getName()));
                byte[] content = in.readAllBytes();
                if (e.getName().endsWith("lib/util.py")) {
                    content = new String(content).replace("2 * v", "3 * v").getBytes();
                }
                out.write(content);
                out.closeEntry();
            }
        }
        CliRunner bad = CliRunner.run("exec", damaged.toString(), "1", "--json");
        assertThat(bad.status()).isEqualTo(1);
        assertThat(bad.stdout()).contains("invalid_task").contains("do not match its manifest");
        CliRunner missing = CliRunner.run("exec", elsewhere.resolveSibling("nope.capsule").toString());
        assertThat(missing.status()).isEqualTo(2);
        assertThat(missing.stderr()).contains("artifact not found");
    }

    private static void deleteTree(Path root) throws Exception {
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
