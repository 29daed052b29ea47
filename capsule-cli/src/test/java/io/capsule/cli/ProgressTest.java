package io.capsule.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ProgressTest {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final PrintStream err = new PrintStream(bytes, true, StandardCharsets.UTF_8);

    @Test
    void longFirstTimePreparationIsShown() throws Exception {
        try (Progress p = new Progress(err, "main.py")) {
            p.preparing("main.py");
            Thread.sleep(2500);
            p.programLoaded("main.py", false, 2500);
        }
        assertThat(bytes.toString(StandardCharsets.UTF_8))
                .startsWith("capsule: preparing main.py (first run; later runs reuse it) ... 1s")
                .containsPattern(" done \\(\\d+ ms\\)\n$");
    }

    @Test
    void quickOrCachedLoadsStaySilent() throws Exception {
        try (Progress p = new Progress(err, "main.py")) {
            p.preparing("main.py");
            p.programLoaded("main.py", false, 20);
            Thread.sleep(1500);
        }
        try (Progress p = new Progress(err, "main.py")) {
            Thread.sleep(1500); // loading without preparing (cache hit) never shows progress
            p.programLoaded("main.py", true, 1500);
        }
        assertThat(bytes.toString(StandardCharsets.UTF_8)).isEmpty();
    }
}
