package io.capsule.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI on real Python programs: output, envelope and exit status. */
class PythonCliEndToEndTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private Path write(String name, String source) throws Exception {
        Path file = dir.resolve(name);
        Files.createDirectories(file.getParent());
        Files.writeString(file, source);
        return file;
    }

    @Test
    void helloExamplePrintsResultAndGuestOutput() {
        CliRunner r = CliRunner.run("run", Path.of("../examples/hello/main.py").toString());
        assertThat(r.status()).as(r.stderr()).isZero();
        assertThat(r.stdout()).contains("hello from the sandbox").contains("\"count\" : 3").contains("\"total\" : 6");
    }

    @Test
    void jsonModePrintsOnlyTheEnvelopeLine() throws Exception {
        Path file = write("main.py", """
                from capsule import task

                @task(name="main")
                def main(a, b):
                    print("noise that must not reach stdout")
                    return {"sum": int(a) + int(b), "text": "héllo ✓"}
                """);
        CliRunner r = CliRunner.run("run", file.toString(), "2", "40", "--json");
        assertThat(r.status()).as(r.stderr()).isZero();
        String[] lines = r.stdout().strip().split("\n");
        assertThat(lines).hasSize(1);
        JsonNode env = JSON.readTree(lines[0]);
        assertThat(env.get("success").asBoolean()).isTrue();
        assertThat(env.get("result").get("sum").asInt()).isEqualTo(42);
        assertThat(env.get("result").get("text").asText()).isEqualTo("héllo ✓");
        assertThat(env.get("error").isNull()).isTrue();
        JsonNode x = env.get("execution");
        assertThat(x.get("task_name").asText()).isEqualTo("main");
        assertThat(x.get("duration_ms").isIntegralNumber()).isTrue();
        assertThat(x.get("retries").asInt()).isZero();
        assertThat(x.has("fuel_consumed")).isTrue();
        assertThat(x.get("ram_used").asLong()).isGreaterThan(0);
        assertThat(x.get("stdout").asText()).contains("noise that must not reach stdout");
    }

    @Test
    void failingTaskExitsOneWithEnvelope() throws Exception {
        Path file = write("main.py", """
                def main():
                    raise ValueError("bad input")
                """);
        CliRunner r = CliRunner.run("run", file.toString(), "--json");
        assertThat(r.status()).isEqualTo(1);
        JsonNode env = JSON.readTree(r.stdout().strip());
        assertThat(env.get("success").asBoolean()).isFalse();
        assertThat(env.get("error").get("type").asText()).isEqualTo("task_error");
        assertThat(env.get("error").get("message").asText()).contains("ValueError: bad input").contains("Traceback");

        CliRunner plain = CliRunner.run("run", file.toString());
        assertThat(plain.status()).isEqualTo(1);
        assertThat(plain.stderr()).contains("task_error").contains("bad input");
    }

    @Test
    void usageErrorsExitTwo() throws Exception {
        assertThat(CliRunner.run("run").status()).isEqualTo(2);
        assertThat(CliRunner.run("run", dir.resolve("missing.py").toString()).status()).isEqualTo(2);
        assertThat(CliRunner.run("frobnicate").status()).isEqualTo(2);
        Path file = write("main.py", "def main(*a):\n    return list(a)\n");
        Path args = write("args.json", "{\"not\": \"an array\"}");
        CliRunner r = CliRunner.run("run", file.toString(), "--args-file", args.toString());
        assertThat(r.status()).isEqualTo(2);
        assertThat(r.stderr()).contains("JSON array");
    }

    @Test
    void argsFileCarriesStructuredArguments() throws Exception {
        Path file = write("main.py", "def main(rows, opts):\n    return {'n': len(rows), 'k': opts['k']}\n");
        Path args = write("args.json", "[[1, 2, 3], {\"k\": \"v\"}]");
        CliRunner r = CliRunner.run("run", file.toString(), "--args-file", args.toString(), "--json");
        assertThat(r.status()).as(r.stdout() + r.stderr()).isZero();
        assertThat(JSON.readTree(r.stdout()).get("result").toString()).isEqualTo("{\"n\":3,\"k\":\"v\"}");
    }

    @Test
    void verbosePrintsLifecycleOnStderr() throws Exception {
        Path file = write("main.py", """
                from capsule import task

                @task(name="child")
                def child():
                    return 1

                @task(name="main")
                def main():
                    return child()["result"] + 1
                """);
        CliRunner r = CliRunner.run("run", file.toString(), "--verbose", "--json");
        assertThat(r.status()).isZero();
        assertThat(r.stderr()).contains("task main started").contains("task child started")
                .contains("task child succeeded").contains("task main succeeded");
        assertThat(JSON.readTree(r.stdout()).get("result").asInt()).isEqualTo(2);
    }

    @Test
    void invalidOptionIsInvalidTaskWithExitOne() throws Exception {
        Path file = write("main.py", """
                from capsule import task

                @task(name="main", ram="lots")
                def main():
                    return 1
                """);
        CliRunner r = CliRunner.run("run", file.toString(), "--json");
        assertThat(r.status()).isEqualTo(1);
        JsonNode env = JSON.readTree(r.stdout());
        assertThat(env.get("error").get("type").asText()).isEqualTo("invalid_task");
        assertThat(env.get("error").get("message").asText()).contains("ram").contains("lots").contains("64MB");
    }
}
