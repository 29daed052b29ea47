package io.capsule.wasm.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.capsule.core.policy.FileAccessException;
import io.capsule.core.policy.MountTable;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The NIO view Chicory's WASI works on: the base tree read-only, mounts under the working directory. */
class JailFileSystemTest {
    @TempDir
    Path tmp;

    private JailFileSystem jail;
    private Path data;
    private Path out;

    @BeforeEach
    void setUp() throws Exception {
        Path base = Files.createDirectories(tmp.resolve("tree/app"));
        Files.writeString(base.resolve("main.py"), "print(1)");
        data = Files.createDirectories(tmp.resolve("project/data"));
        out = Files.createDirectories(tmp.resolve("project/out"));
        Files.writeString(data.resolve("in.txt"), "input");
        jail = new JailFileSystem(tmp.resolve("tree"), "app");
        jail.mounts(MountTable.of(List.of(
                new MountTable.Mount("data", data.toRealPath(), false),
                new MountTable.Mount("out", out.toRealPath(), true))));
    }

    private Path p(String s) {
        return jail.root().resolve(s);
    }

    @Test
    void readsTreeAndMountsAndWritesOnlyWhereAllowed() throws Exception {
        assertThat(Files.readString(p("app/main.py"))).isEqualTo("print(1)");
        assertThat(Files.readString(p("app/data/in.txt"))).isEqualTo("input");
        Files.writeString(p("app/out/x.txt"), "written");
        assertThat(Files.readString(out.resolve("x.txt"))).isEqualTo("written");
        Files.move(p("app/out/x.txt"), p("app/out/y.txt"), StandardCopyOption.REPLACE_EXISTING,
                StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.COPY_ATTRIBUTES);
        assertThat(out.resolve("y.txt")).hasContent("written");
        assertThatThrownBy(() -> Files.writeString(p("app/data/x.txt"), "no"))
                .isInstanceOf(FileAccessException.class).hasMessageContaining("Read-only");
        assertThatThrownBy(() -> Files.writeString(p("app/main.py"), "no"))
                .isInstanceOf(FileAccessException.class).hasMessageContaining("Read-only");
        assertThatThrownBy(() -> Files.delete(p("app/out")))
                .isInstanceOf(FileAccessException.class).hasMessageContaining("cannot be removed");
        try (var list = Files.list(p("app"))) {
            assertThat(list.map(x -> x.getFileName().toString())).containsExactlyInAnyOrder("main.py", "data", "out");
        }
    }

    @Test
    void linksNeverLeadOut() throws Exception {
        Files.writeString(tmp.resolve("secret"), "secret");
        Files.createSymbolicLink(data.resolve("link"), tmp.resolve("secret"));
        Files.createSymbolicLink(data.resolve("dir"), tmp);
        assertThatThrownBy(() -> Files.readString(p("app/data/link"))).isInstanceOf(FileAccessException.class);
        assertThatThrownBy(() -> Files.readString(p("app/data/dir/secret"))).isInstanceOf(FileAccessException.class);
        assertThatThrownBy(() -> Files.readSymbolicLink(p("app/data/link"))).isInstanceOf(FileAccessException.class);
        assertThat(Files.isSymbolicLink(p("app/data/link"))).isTrue(); // listing and lstat still work
        assertThatThrownBy(() -> Files.createSymbolicLink(p("app/out/l"), p("/")))
                .isInstanceOf(FileAccessException.class);
        assertThatThrownBy(() -> Files.createLink(p("app/out/h"), p("app/data/in.txt")))
                .isInstanceOf(FileAccessException.class);
        assertThatThrownBy(() -> Files.readString(p("app/../../secret"))).isInstanceOf(NoSuchFileException.class);
        assertThat(Files.exists(p("app/nothing/here"))).isFalse();
    }
}
