package io.capsule.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI on real TypeScript/JavaScript programs: output, envelope and exit status. */
class JsCliEndToEndTest {
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
        CliRunner r = CliRunner.run("run", Path.of("../examples/hello-ts/main.ts").toString());
        assertThat(r.status()).as(r.stderr()).isZero();
        assertThat(r.stdout()).contains("hello from the sandbox").contains("\"count\" : 3").contains("\"total\" : 6");
    }

    @Test
    void jsonModePrintsOnlyTheEnvelopeLine() throws Exception {
        Path file = write("main.js", """
                import { task } from "@capsule-run/sdk";

                export const main = task({ name: "main" }, (a, b) => {
                  console.log("noise that must not reach stdout");
                  return { sum: Number(a) + Number(b), text: "héllo ✓" };
                });
                """);
        CliRunner r = CliRunner.run("run", file.toString(), "2", "40", "--json");
        assertThat(r.status()).as(r.stderr()).isZero();
        String[] lines = r.stdout().strip().split("\n");
        assertThat(lines).hasSize(1);
        JsonNode env = JSON.readTree(lines[0]);
        assertThat(env.get("success").asBoolean()).isTrue();
        assertThat(env.get("result").get("sum").asInt()).isEqualTo(42);
        assertThat(env.get("result").get("text").asText()).isEqualTo("héllo ✓");
        JsonNode x = env.get("execution");
        assertThat(x.get("task_name").asText()).isEqualTo("main");
        assertThat(x.get("retries").asInt()).isZero();
        assertThat(x.has("fuel_consumed")).isTrue();
        assertThat(x.get("stdout").asText()).contains("noise that must not reach stdout");
    }

    @Test
    void failingTaskExitsOneWithEnvelope() throws Exception {
        Path file = write("main.ts", """
                export function main(): number {
                  throw new Error("bad input");
                }
                """);
        CliRunner r = CliRunner.run("run", file.toString(), "--json");
        assertThat(r.status()).isEqualTo(1);
        JsonNode env = JSON.readTree(r.stdout().strip());
        assertThat(env.get("error").get("type").asText()).isEqualTo("task_error");
        assertThat(env.get("error").get("message").asText()).startsWith("Error: bad input").contains("main.ts:");

        CliRunner plain = CliRunner.run("run", file.toString());
        assertThat(plain.status()).isEqualTo(1);
        assertThat(plain.stderr()).contains("task_error").contains("bad input");
    }

    @Test
    void syntaxErrorExitsOneWithFileAndLine() throws Exception {
        Path file = write("main.ts", "const ok: number = 1;\n\nexport function main( {\n  return ok;\n}\n");
        CliRunner r = CliRunner.run("run", file.toString(), "--json");
        assertThat(r.status()).isEqualTo(1);
        JsonNode env = JSON.readTree(r.stdout().strip());
        assertThat(env.get("error").get("type").asText()).isEqualTo("invalid_task");
        assertThat(env.get("error").get("message").asText()).startsWith("main.ts:4:").contains("SyntaxError");
    }

    @Test
    void verbosePrintsLifecycleOnStderr() throws Exception {
        Path file = write("main.ts", """
                import { task } from "@capsule-run/sdk";
                export const child = task({ name: "child" }, () => 1);
                export const main = task({ name: "main" }, () => child().result + 1);
                """);
        CliRunner r = CliRunner.run("run", file.toString(), "--verbose", "--json");
        assertThat(r.status()).as(r.stderr()).isZero();
        assertThat(r.stderr()).contains("task main started").contains("task child started")
                .contains("task child succeeded").contains("task main succeeded");
        assertThat(JSON.readTree(r.stdout()).get("result").asInt()).isEqualTo(2);
    }

    @Test
    void invalidOptionIsInvalidTaskWithExitOne() throws Exception {
        Path file = write("main.ts", """
                import { task } from "@capsule-run/sdk";
                export const main = task({ name: "main", ram: "lots" }, () => 1);
                """);
        CliRunner r = CliRunner.run("run", file.toString(), "--json");
        assertThat(r.status()).isEqualTo(1);
        JsonNode env = JSON.readTree(r.stdout());
        assertThat(env.get("error").get("type").asText()).isEqualTo("invalid_task");
        assertThat(env.get("error").get("message").asText()).contains("ram").contains("lots").contains("64MB");
    }
}
