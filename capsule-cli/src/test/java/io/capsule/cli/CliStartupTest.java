package io.capsule.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.capsule.core.spi.GuestRuntime;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sqlite.SQLiteJDBCLoader;
import org.sqlite.util.LibraryLoaderUtil;

/** What the CLI does to start faster must not change what it does. */
class CliStartupTest {
    @TempDir
    Path dir;

    @Test
    void helpStillListsEveryCommandInOrder() {
        CliRunner r = CliRunner.run("--help");
        assertThat(r.status()).isZero();
        assertThat(r.stdout()).containsSubsequence("run ", "build ", "exec ", "trace ", "worker ");
    }

    @Test
    void aNamedCommandStillHasItsOwnHelpAndOptions() {
        CliRunner r = CliRunner.run("run", "--help");
        assertThat(r.status()).isZero();
        assertThat(r.stdout()).contains("Usage: capsule run").contains("--json").contains("--mount");
    }

    @Test
    void anUnknownCommandIsStillAUsageError() {
        CliRunner r = CliRunner.run("frobnicate", "main.py");
        assertThat(r.status()).isEqualTo(CapsuleCli.EXIT_USAGE);
        assertThat(r.stderr()).contains("capsule:").contains("frobnicate");
    }

    @Test
    void prewarmPicksTheRuntimeOfRunsExistingFile() throws IOException {
        Path py = Files.writeString(dir.resolve("main.py"), "def main(): return 1\n");
        Path ts = Files.writeString(dir.resolve("main.ts"), "export const main = () => 1;\n");
        Path argsFile = Files.writeString(dir.resolve("args.json"), "[]");
        assertThat(name(Prewarm.runtimeFor("run", py.toString()))).isEqualTo("python");
        assertThat(name(Prewarm.runtimeFor("run", "--args-file", argsFile.toString(), ts.toString())))
                .isEqualTo("javascript");
        assertThat(Prewarm.runtimeFor("run", dir.resolve("missing.py").toString())).isNull();
        assertThat(Prewarm.runtimeFor("build", py.toString())).as("only run is warmed").isNull();
        assertThat(Prewarm.runtimeFor("run")).isNull();
    }

    private static String name(GuestRuntime runtime) {
        return runtime == null ? null : runtime.name();
    }

    @Test
    void sqliteLibraryIsCopiedOnceIntoTheCacheDirectory() throws IOException {
        String before = System.getProperty("org.sqlite.lib.path");
        System.clearProperty("org.sqlite.lib.path");
        System.setProperty("capsule.cache.dir", dir.toString());
        try {
            SqliteNative.useCachedCopy();
            String chosen = System.getProperty("org.sqlite.lib.path");
            assertThat(chosen).startsWith(dir.resolve("native").toString()).contains(SQLiteJDBCLoader.getVersion());
            Path lib = Path.of(chosen, LibraryLoaderUtil.getNativeLibName());
            try (InputStream in = SQLiteJDBCLoader.class.getResourceAsStream(
                    LibraryLoaderUtil.getNativeLibResourcePath() + "/" + LibraryLoaderUtil.getNativeLibName())) {
                assertThat(Files.readAllBytes(lib)).isEqualTo(in.readAllBytes());
            }
            long written = Files.getLastModifiedTime(lib).toMillis();
            System.clearProperty("org.sqlite.lib.path");
            SqliteNative.useCachedCopy();
            assertThat(System.getProperty("org.sqlite.lib.path")).isEqualTo(chosen);
            assertThat(Files.getLastModifiedTime(lib).toMillis()).as("reused, not rewritten").isEqualTo(written);

            System.setProperty("org.sqlite.lib.path", "/somewhere/else");
            SqliteNative.useCachedCopy();
            assertThat(System.getProperty("org.sqlite.lib.path")).as("the user's choice wins").isEqualTo("/somewhere/else");
        } finally {
            System.clearProperty("capsule.cache.dir");
            if (before == null) {
                System.clearProperty("org.sqlite.lib.path");
            } else {
                System.setProperty("org.sqlite.lib.path", before);
            }
        }
    }
}
