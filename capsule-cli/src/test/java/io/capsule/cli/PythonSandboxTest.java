package io.capsule.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.capsule.core.CapsuleEngine;
import io.capsule.core.Envelope;
import io.capsule.core.ErrorType;
import io.capsule.core.TaskRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Sandbox boundaries on real Python programs: files, environment, ceilings. Task code is hostile here. */
class PythonSandboxTest {
    private static CapsuleEngine engine;

    @TempDir
    Path project;

    @BeforeAll
    static void start() {
        engine = CapsuleEngine.builder().build();
    }

    @AfterAll
    static void stop() {
        engine.close();
    }

    private Envelope run(String source, Object... args) throws Exception {
        Path main = project.resolve("main.py");
        Files.writeString(main, source);
        return engine.run(TaskRequest.file(main).args(List.of(args)).build());
    }

    @Test
    void fileRoundTrip() throws Exception {
        Files.createDirectories(project.resolve("data"));
        Files.createDirectories(project.resolve("output"));
        Files.writeString(project.resolve("data/input.txt"), "hello from the host\n");
        Envelope e = run("""
                from capsule import task

                @task(name="main", allowed_files=[{"path": "./data", "mode": "ro"}, "./output"])
                def main():
                    text = open("./data/input.txt").read()
                    with open("./output/result.txt", "w") as f:
                        f.write(text.upper())
                    try:
                        open("./data/new.txt", "w")
                        return "wrote into a read-only directory"
                    except OSError as err:
                        return {"read": text, "ro_error": str(err)}
                """);
        assertThat(e.success()).as(e.toJson()).isTrue();
        assertThat(e.result().get("read").asText()).isEqualTo("hello from the host\n");
        assertThat(e.result().get("ro_error").asText()).contains("Read-only file system");
        assertThat(Files.readString(project.resolve("output/result.txt"))).isEqualTo("HELLO FROM THE HOST\n");
        assertThat(project.resolve("data/new.txt")).doesNotExist();
    }
}
