package io.capsule.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** capsule.toml through the CLI: defaults and their precedence, validation errors, the entry point. */
class ProjectConfigCliTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private Path write(String name, String text) throws Exception {
        Path f = dir.resolve(name);
        Files.createDirectories(f.getParent());
        Files.writeString(f, text);
        return f;
    }

    private static JsonNode envelope(CliRunner r) throws Exception {
        String[] lines = r.stdout().strip().split("\n");
        return JSON.readTree(lines[lines.length - 1]);
    }

    @Test
    void taskOptionBeatsTomlDefaultWhichBeatsBuiltIn() throws Exception {
        write("capsule.toml", """
                [tasks]
                default_timeout = "1s"
                default_max_retries = 2
                """);
        Path main = write("src/main.py", """
                from capsule import task

                @task(name="fails")
                def fails():
                    raise ValueError("always")

                @task(name="fails_once_only", max_retries=0)
                def fails_once_only():
                    raise ValueError("always")

                @task(name="spins", max_retries=0)
                def spins():
                    while True:
                        pass

                @task(name="spins_longer", max_retries=0, timeout="1500ms")
                def spins_longer():
                    while True:
                        pass
                """);
        JsonNode tomlRetries = envelope(CliRunner.run("run", main.toString(), "--task", "fails", "--json"));
        assertThat(tomlRetries.at("/execution/retries").asInt()).isEqualTo(2);
        JsonNode ownRetries = envelope(CliRunner.run("run", main.toString(), "--task", "fails_once_only", "--json"));
        assertThat(ownRetries.at("/execution/retries").asInt()).isZero();

        JsonNode tomlTimeout = envelope(CliRunner.run("run", main.toString(), "--task", "spins", "--json"));
        assertThat(tomlTimeout.at("/error/type").asText()).isEqualTo("timeout");
        assertThat(tomlTimeout.at("/error/message").asText()).isEqualTo("Task exceeded 1s timeout limit");
        JsonNode ownTimeout = envelope(CliRunner.run("run", main.toString(), "--task", "spins_longer", "--json"));
        assertThat(ownTimeout.at("/error/message").asText()).isEqualTo("Task exceeded 1500ms timeout limit");

        Files.delete(dir.resolve("capsule.toml"));
        JsonNode builtIn = envelope(CliRunner.run("run", main.toString(), "--task", "fails", "--json"));
        assertThat(builtIn.at("/execution/retries").asInt()).isZero();
    }

    @Test
    void tomlCeilingsCapWhatTasksAskFor() throws Exception {
        write("capsule.toml", """
                [tasks]
                max_timeout = "1s"
                max_retries = 1
                """);
        Path main = write("main.py", """
                from capsule import task

                @task(name="main", timeout="1h", max_retries=5)
                def main():
                    while True:
                        pass
                """);
        JsonNode env = envelope(CliRunner.run("run", main.toString(), "--json"));
        assertThat(env.at("/error/type").asText()).isEqualTo("timeout");
        assertThat(env.at("/error/message").asText()).isEqualTo("Task exceeded 1s timeout limit");
        assertThat(env.at("/execution/retries").asInt()).isEqualTo(1);
    }

    @Test
    void tomlAccessCeilingsDenyWiderGrants() throws Exception {
        write("capsule.toml", """
                [tasks]
                max_env_variables = ["CAPSULE_TEST_OK"]
                max_allowed_hosts = ["api.example.com"]
                """);
        Path main = write("main.py", """
                from capsule import task

                @task(name="env", env_variables=["HOME"])
                def env():
                    return 1

                @task(name="hosts", allowed_hosts=["evil.example.net"])
                def hosts():
                    return 1

                @task(name="fine", env_variables=["CAPSULE_TEST_OK"], allowed_hosts=["api.example.com"])
                def fine():
                    return "ok"
                """);
        JsonNode env = envelope(CliRunner.run("run", main.toString(), "--task", "env", "--json"));
        assertThat(env.at("/error/type").asText()).isEqualTo("permission_denied");
        assertThat(env.at("/error/message").asText()).contains("env_variables \"HOME\" is beyond what the host allows");
        JsonNode hosts = envelope(CliRunner.run("run", main.toString(), "--task", "hosts", "--json"));
        assertThat(hosts.at("/error/type").asText()).isEqualTo("permission_denied");
        assertThat(envelope(CliRunner.run("run", main.toString(), "--task", "fine", "--json")).get("result").asText())
                .isEqualTo("ok");
    }

    @Test
    void badTomlIsAUsageErrorNamingFileLineAndKey() throws Exception {
        Path toml = write("capsule.toml", """
                [workflow]
                name = "demo"

                [tasks]
                default_ram = "lots"
                """);
        Path main = write("main.py", "def main():\n    return 1\n");
        CliRunner r = CliRunner.run("run", main.toString(), "--json");
        assertThat(r.status()).isEqualTo(2);
        assertThat(r.stdout()).isEmpty();
        assertThat(r.stderr()).contains("capsule: " + toml + ":5: tasks.default_ram: invalid value \"lots\"");

        Files.writeString(toml, "[workflow]\nentrypoint = \"main.py\"\ncolour = \"blue\"\n");
        r = CliRunner.run("run", main.toString());
        assertThat(r.status()).isEqualTo(2);
        assertThat(r.stderr()).contains(toml + ":3: workflow.colour: unknown key");

        assertThat(CliRunner.run("build", main.toString()).stderr()).contains(toml + ":3: workflow.colour: unknown key");
    }

    /** Runs the CLI in its own JVM in {@code cwd}: the entry point is found from the working directory. */
    private static CliRunner runIn(Path cwd, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:-DontCompileHugeMethods", "-Xss4m", "-XX:TieredStopAtLevel=1", "-cp",
                System.getProperty("java.class.path"), CapsuleCli.class.getName()));
        cmd.addAll(List.of(args));
        File out = File.createTempFile("capsule-out", ".txt");
        File err = File.createTempFile("capsule-err", ".txt");
        Process p = new ProcessBuilder(cmd).directory(cwd.toFile()).redirectOutput(out).redirectError(err).start();
        try {
            assertThat(p.waitFor(180, TimeUnit.SECONDS)).isTrue();
            return new CliRunner(p.exitValue(), Files.readString(out.toPath(), StandardCharsets.UTF_8),
                    Files.readString(err.toPath(), StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out.toPath());
            Files.deleteIfExists(err.toPath());
        }
    }

    @Test
    void runWithoutFileUsesTheEntrypoint() throws Exception {
        write("capsule.toml", """
                [workflow]
                name = "demo"
                entrypoint = "src/app.py"
                """);
        write("src/app.py", """
                def main(who="nobody"):
                    return "hello " + who
                """);
        CliRunner r = runIn(dir, "run", "world", "--json");
        assertThat(r.status()).as(r.stderr()).isZero();
        assertThat(envelope(r).get("result").asText()).isEqualTo("hello world");

        Path sub = Files.createDirectories(dir.resolve("src/deeper"));
        CliRunner fromBelow = runIn(sub, "run");
        assertThat(fromBelow.status()).as(fromBelow.stderr()).isZero();
        assertThat(fromBelow.stdout().strip()).isEqualTo("hello nobody");

        Files.writeString(dir.resolve("capsule.toml"), "[workflow]\nname = \"no entry\"\n");
        CliRunner none = runIn(dir, "run");
        assertThat(none.status()).isEqualTo(2);
        assertThat(none.stderr()).contains("no FILE given and no [workflow].entrypoint in " + dir.resolve("capsule.toml"));
    }
}
