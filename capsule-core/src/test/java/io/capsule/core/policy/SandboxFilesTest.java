package io.capsule.core.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The host-function file API (for the JS runtime) against the same adversarial cases as the Python jail. */
class SandboxFilesTest {
    @TempDir
    Path tmp;

    private SandboxFiles files;
    private Path data;
    private Path out;

    @BeforeEach
    void setUp() throws Exception {
        data = Files.createDirectories(tmp.resolve("p/data")).toRealPath();
        out = Files.createDirectories(tmp.resolve("p/output")).toRealPath();
        Files.writeString(data.resolve("input.txt"), "in");
        MountTable table = MountTable.of(List.of(new MountTable.Mount("data", data, false),
                new MountTable.Mount("output", out, true)));
        files = new SandboxFiles(() -> table);
    }

    private interface Op {
        void run() throws Exception;
    }

    private static String code(Op op) {
        try {
            op.run();
            return "ALLOWED";
        } catch (Exception e) {
            return SandboxFiles.errorCode(e);
        }
    }

    @Test
    void roundTrip() throws Exception {
        assertThat(new String(files.read("./data/input.txt"), StandardCharsets.UTF_8)).isEqualTo("in");
        files.mkdir("./output/a/b", true);
        files.write("./output/a/b/r.txt", "1".getBytes(StandardCharsets.UTF_8), false);
        files.write("./output/a/b/r.txt", "2".getBytes(StandardCharsets.UTF_8), true);
        files.rename("./output/a/b/r.txt", "./output/r.txt");
        assertThat(out.resolve("r.txt")).hasContent("12");
        assertThat(files.list("output")).containsExactly("a", "r.txt");
        assertThat(files.stat("output/r.txt")).containsEntry("type", "file").containsEntry("size", 2L);
        files.remove("output/r.txt");
        assertThat(files.exists("output/r.txt")).isFalse();
    }

    @Test
    void adversarialPathsAreRefused() throws Exception {
        Files.createSymbolicLink(data.resolve("etc"), Path.of("/etc"));
        Files.writeString(tmp.resolve("secret"), "s");
        Files.createLink(data.resolve("hard"), tmp.resolve("secret"));
        assertThat(code(() -> files.read("../../etc/passwd"))).isEqualTo("EACCES");
        assertThat(code(() -> files.read("/etc/passwd"))).isEqualTo("EACCES");
        assertThat(code(() -> files.read("data/etc/passwd"))).isEqualTo("EACCES");
        assertThat(code(() -> files.list("data/etc"))).isEqualTo("EACCES");
        assertThat(code(() -> files.read("data/hard"))).isEqualTo("EACCES");
        assertThat(code(() -> files.read("elsewhere/x"))).isEqualTo("EACCES");
        assertThat(code(() -> files.read("data/missing"))).isEqualTo("ENOENT");
        for (Op write : List.<Op>of(
                () -> files.write("data/input.txt", new byte[0], false),
                () -> files.write("data/new.txt", new byte[0], true),
                () -> files.mkdir("data/d", false),
                () -> files.remove("data/input.txt"),
                () -> files.rename("data/input.txt", "data/x.txt"),
                () -> files.rename("data/input.txt", "output/x.txt"),
                () -> files.rename("output", "data/x"))) {
            assertThat(code(write)).isIn("EROFS", "EBUSY");
        }
        assertThat(code(() -> files.remove("output"))).isEqualTo("EBUSY");
        assertThat(data.resolve("input.txt")).hasContent("in");
        if (!Files.isDirectory(out)) {
            fail("mount root removed");
        }
    }
}
