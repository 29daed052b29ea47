package io.capsule.core.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.capsule.core.policy.FileAccessException.Reason;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MountTableTest {
    @TempDir
    Path tmp;

    private MountTable table;
    private Path data;
    private Path out;

    @BeforeEach
    void setUp() throws Exception {
        data = Files.createDirectories(tmp.resolve("data")).toRealPath();
        out = Files.createDirectories(tmp.resolve("data/out"));
        Files.writeString(data.resolve("a.txt"), "a");
        table = MountTable.of(List.of(new MountTable.Mount("data", data, false),
                new MountTable.Mount("./data/out/", out, true)));
    }

    private static Reason reason(Runnable r) {
        try {
            r.run();
            return null;
        } catch (FileAccessException e) {
            return e.reason();
        }
    }

    @Test
    void resolvesInsideTheInnermostMount() {
        assertThat(table.resolve("./data/a.txt", false).hostPath()).isEqualTo(data.resolve("a.txt"));
        assertThat(table.resolve("data/out/new.txt", true).hostPath()).isEqualTo(out.resolve("new.txt"));
        assertThat(table.resolve("data/x/../a.txt", false).hostPath()).isEqualTo(data.resolve("a.txt"));
        assertThat(table.resolve("data", false).mountRoot()).isTrue();
    }

    @Test
    void refusesEscapesLinksAndWritesToReadOnlyMounts() throws Exception {
        Files.createSymbolicLink(data.resolve("etc"), Path.of("/etc"));
        Files.writeString(tmp.resolve("outside.txt"), "secret");
        Files.createLink(data.resolve("hard.txt"), tmp.resolve("outside.txt"));
        assertThat(reason(() -> table.resolve("../etc/passwd", false))).isEqualTo(Reason.DENIED);
        assertThat(reason(() -> table.resolve("data/../../etc/passwd", false))).isEqualTo(Reason.DENIED);
        assertThat(reason(() -> table.resolve("/etc/passwd", false))).isEqualTo(Reason.DENIED);
        assertThat(reason(() -> table.resolve("other/x", false))).isEqualTo(Reason.DENIED);
        assertThat(reason(() -> table.resolve("data/etc/passwd", false))).isEqualTo(Reason.DENIED);
        assertThat(reason(() -> table.resolve("data/etc", false))).isEqualTo(Reason.DENIED);
        assertThat(reason(() -> table.resolve("data/hard.txt", false))).isEqualTo(Reason.DENIED);
        assertThat(reason(() -> table.resolve("data/a.txt", true))).isEqualTo(Reason.READ_ONLY);
        if (new ProcessBuilder("mkfifo", data.resolve("fifo").toString()).start().waitFor() == 0) {
            assertThat(reason(() -> table.resolve("data/fifo", false))).isEqualTo(Reason.DENIED);
        }
        assertThat(reason(() -> table.resolve("data/missing/x", false))).isEqualTo(Reason.NOT_FOUND);
        assertThat(reason(() -> table.resolve("data/a.txt/x", false))).isEqualTo(Reason.NOT_DIRECTORY);
        // The link itself can be inspected or removed, never followed.
        assertThat(table.resolveNoFollow(List.of("data", "etc"), false).hostPath()).isEqualTo(data.resolve("etc"));
        assertThat(reason(() -> table.resolveNoFollow(List.of("data", "etc", "passwd"), false))).isEqualTo(Reason.DENIED);
    }
}
