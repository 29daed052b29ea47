package io.capsule.core.project;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.capsule.core.options.Ceilings;
import io.capsule.core.options.TaskDefaults;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProjectCacheTest {
    @TempDir
    Path project;

    private final AtomicInteger builds = new AtomicInteger();

    @BeforeEach
    void sources() throws IOException {
        write("main.py", "print(1)\n");
        write("lib/util.py", "X = 1\n");
        write("notes.txt", "not a source\n");
        write(".hidden/secret.py", "hidden\n");
        write("node_modules/x.py", "skipped\n");
    }

    private void write(String name, String text) throws IOException {
        Path f = project.resolve(name);
        Files.createDirectories(f.getParent());
        Files.writeString(f, text);
    }

    private ProjectSources scan() {
        return ProjectSources.scan(project, p -> p.getFileName().toString().endsWith(".py"));
    }

    private ProjectCache.Entry get(ProjectSources sources) throws IOException {
        return ProjectCache.of(project).getOrBuild("python", sources.digest(), dir -> {
            builds.incrementAndGet();
            sources.writeTo(dir);
        });
    }

    @Test
    void scanTakesOnlySourcesAndSkipsHiddenAndVendorDirectoriesAndSymlinks() throws IOException {
        Path outside = Files.writeString(project.resolveSibling(project.getFileName() + "-outside.py"), "secret = 1\n");
        Files.createSymbolicLink(project.resolve("linked.py"), outside);
        ProjectSources s;
        try {
            s = scan();
        } finally {
            Files.deleteIfExists(outside);
        }
        assertThat(s.files()).extracting(ProjectSources.SourceFile::path).containsExactly("lib/util.py", "main.py");
        assertThat(s.contains(Path.of("main.py"))).isTrue();
        assertThat(s.contains(Path.of("notes.txt"))).isFalse();
    }

    @Test
    void digestChangesWithAnyEditOnlyOfSources() throws IOException {
        String before = scan().digest();
        assertThat(scan().digest()).isEqualTo(before);
        write("notes.txt", "edited, not a source\n");
        write(".capsule/cache/x.py", "the cache itself is not a source\n");
        assertThat(scan().digest()).isEqualTo(before);
        write("lib/util.py", "X = 2\n");
        assertThat(scan().digest()).isNotEqualTo(before);
        write("lib/util.py", "X = 1\n");
        assertThat(scan().digest()).isEqualTo(before);
        write("lib/new.py", "");
        assertThat(scan().digest()).isNotEqualTo(before);
    }

    @Test
    void secondUseReusesTheEntryWithoutPreparing() throws IOException {
        ProjectCache.Entry first = get(scan());
        ProjectCache.Entry second = get(scan());
        assertThat(first.reused()).isFalse();
        assertThat(second.reused()).isTrue();
        assertThat(second.dir()).isEqualTo(first.dir());
        assertThat(builds).hasValue(1);
        assertThat(first.dir()).isEqualTo(project.resolve(".capsule/cache/python").resolve(first.key()).resolve("files"));
        assertThat(Files.readString(first.dir().resolve("lib/util.py"))).isEqualTo("X = 1\n");
    }

    @Test
    void editedSourcesGetANewEntry() throws IOException {
        ProjectCache.Entry first = get(scan());
        write("main.py", "print(2)\n");
        ProjectCache.Entry second = get(scan());
        assertThat(second.reused()).isFalse();
        assertThat(second.key()).isNotEqualTo(first.key());
        assertThat(Files.readString(second.dir().resolve("main.py"))).isEqualTo("print(2)\n");
        assertThat(builds).hasValue(2);
    }

    @Test
    void alteredFileInAnEntryIsRebuiltNotTrusted() throws IOException {
        ProjectCache.Entry first = get(scan());
        Files.writeString(first.dir().resolve("main.py"), "import os; os.system('evil')\n");
        long discarded = ProjectCache.stats().discarded();
        ProjectCache.Entry again = get(scan());
        assertThat(again.reused()).isFalse();
        assertThat(Files.readString(again.dir().resolve("main.py"))).isEqualTo("print(1)\n");
        assertThat(ProjectCache.stats().discarded()).isEqualTo(discarded + 1);
        assertThat(builds).hasValue(2);
    }

    @Test
    void missingExtraOrTruncatedFilesAndBadManifestsAreRebuilt() throws IOException {
        ProjectCache.Entry e = get(scan());
        Files.delete(e.dir().resolve("lib/util.py"));
        assertThat(get(scan()).reused()).isFalse();

        e = get(scan());
        Files.writeString(e.dir().resolve("extra.py"), "planted\n");
        assertThat(get(scan()).reused()).isFalse();
        assertThat(e.dir().resolve("extra.py")).doesNotExist();

        e = get(scan());
        Files.writeString(e.dir().resolveSibling(ProjectCache.MANIFEST), "{not json");
        assertThat(get(scan()).reused()).isFalse();

        e = get(scan());
        Files.write(e.dir().resolve("main.py"), new byte[0]);
        assertThat(get(scan()).reused()).isFalse();
        assertThat(builds).hasValue(5);
        assertThat(get(scan()).reused()).isTrue();
    }

    @Test
    void aSymlinkPlantedInAnEntryIsNotFollowedButRebuilt() throws IOException {
        ProjectCache.Entry e = get(scan());
        Path secret = Files.writeString(project.resolveSibling(project.getFileName() + "-secret.txt"), "host secret");
        try {
            Files.delete(e.dir().resolve("main.py"));
            Files.createSymbolicLink(e.dir().resolve("main.py"), secret);
            ProjectCache.Entry again = get(scan());
            assertThat(again.reused()).isFalse();
            assertThat(Files.isSymbolicLink(again.dir().resolve("main.py"))).isFalse();
            assertThat(Files.readString(again.dir().resolve("main.py"))).isEqualTo("print(1)\n");
        } finally {
            Files.deleteIfExists(secret);
        }
    }

    @Test
    void concurrentFirstUsesAgreeOnOneSoundEntry() throws Exception {
        ProjectSources sources = scan();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<ProjectCache.Entry>> all = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                all.add(pool.submit((Callable<ProjectCache.Entry>) () -> get(sources)));
            }
            for (Future<ProjectCache.Entry> f : all) {
                assertThat(Files.readString(f.get().dir().resolve("main.py"))).isEqualTo("print(1)\n");
            }
        } finally {
            pool.shutdown();
        }
        assertThat(ProjectCache.check(project.resolve(".capsule/cache/python").resolve(sources.digest()), sources.digest()))
                .isNull();
        try (Stream<Path> left = Files.list(project.resolve(".capsule/cache/python"))) {
            assertThat(left).hasSize(1); // no staging directories left behind
        }
    }

    @Test
    void onlyTheMostRecentlyUsedEntriesAreKept() throws IOException {
        for (int i = 0; i < ProjectCache.KEEP_ENTRIES + 3; i++) {
            write("main.py", "print(" + i + ")\n");
            get(scan());
        }
        try (Stream<Path> entries = Files.list(project.resolve(".capsule/cache/python"))) {
            assertThat(entries).hasSize(ProjectCache.KEEP_ENTRIES);
        }
        assertThat(get(scan()).reused()).isTrue(); // the newest survived
    }

    @Test
    void artifactRoundTripsAndRefusesTampering() throws IOException {
        ProjectCache.Entry e = get(scan());
        TaskDefaults defaults = new TaskDefaults(5L, 64L << 20, Duration.ofSeconds(3), 2);
        Ceilings ceilings = new Ceilings(10, 128L << 20, Duration.ofMinutes(1), 3, 4, 5);
        Path file = project.resolve("out/main.capsule");
        new Artifact("python", "fmt-1", Path.of("main.py"), e.dir(), "wf", "1.0", defaults, ceilings).write(file);

        Artifact opened = Artifact.open(file, Files.createTempDirectory(project, "x"));
        assertThat(opened.runtime()).isEqualTo("python");
        assertThat(opened.preparedFormat()).isEqualTo("fmt-1");
        assertThat(opened.entry()).isEqualTo(Path.of("main.py"));
        assertThat(opened.defaults()).isEqualTo(defaults);
        assertThat(opened.ceilings()).isEqualTo(ceilings);
        assertThat(opened.workflowName()).isEqualTo("wf");
        assertThat(Files.readString(opened.dir().resolve("lib/util.py"))).isEqualTo("X = 1\n");
        assertThat(Artifact.inspect(file).defaults()).isEqualTo(defaults);

        Path tampered = project.resolve("tampered.capsule");
        rewrite(file, tampered, "files/main.py", "print('changed')\n".getBytes());
        assertThatThrownBy(() -> Artifact.open(tampered, Files.createTempDirectory(project, "y")))
                .hasMessageContaining("do not match its manifest");

        Path escaping = project.resolve("escaping.capsule");
        rewrite(file, escaping, "files/../../escaped.py", "x\n".getBytes());
        assertThatThrownBy(() -> Artifact.open(escaping, Files.createTempDirectory(project, "z")))
                .hasMessageContaining("points outside the artifact");
        assertThat(project.resolve("escaped.py")).doesNotExist();

        Path notZip = project.resolve("not.capsule");
        Files.writeString(notZip, "hello");
        assertThatThrownBy(() -> Artifact.open(notZip, Files.createTempDirectory(project, "w")))
                .hasMessageContaining("not a usable capsule artifact");
    }

    /** Copies a zip, replacing (or adding) one entry. */
    private static void rewrite(Path from, Path to, String name, byte[] content) throws IOException {
        try (var in = new java.util.zip.ZipInputStream(Files.newInputStream(from));
                OutputStream raw = Files.newOutputStream(to);
                ZipOutputStream out = new ZipOutputStream(raw)) {
            for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
                if (e.getName().equals(name)) {
                    continue;
                }
                out.putNextEntry(new ZipEntry(e.getName()));
                in.transferTo(out);
                out.closeEntry();
            }
            out.putNextEntry(new ZipEntry(name));
            out.write(content);
            out.closeEntry();
        }
    }
}
