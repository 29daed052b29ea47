package io.capsule.core;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.TextNode;
import io.capsule.core.project.Artifact;
import io.capsule.core.project.ProjectSources;
import io.capsule.core.spi.AttemptOutcome;
import io.capsule.core.spi.GuestRuntime;
import io.capsule.core.spi.Program;
import io.capsule.core.spi.ProgramSource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How the engine uses a runtime's prepare/loadPrepared (what a new runtime implements): a fake runtime
 * whose "program" returns the text of its prepared entry file.
 */
class EngineProjectCacheTest {
    @TempDir
    Path project;

    /** "Prepares" by upper-casing the sources; runs by returning the prepared entry's text. */
    static final class FakeRuntime implements GuestRuntime {
        final AtomicInteger prepares = new AtomicInteger();
        final AtomicInteger plainLoads = new AtomicInteger();
        final List<String> events = new ArrayList<>();
        String format = "fake-1";

        @Override
        public String name() {
            return "fake";
        }

        @Override
        public boolean accepts(String fileName) {
            return fileName.endsWith(".fk");
        }

        @Override
        public Program load(ProgramSource source) {
            plainLoads.incrementAndGet();
            return program(() -> Files.readString(source.projectRoot().resolve(source.entry())));
        }

        @Override
        public String preparedFormat() {
            return format;
        }

        @Override
        public void prepare(ProgramSource source, ProjectSources sources, Path dir) throws IOException {
            prepares.incrementAndGet();
            for (ProjectSources.SourceFile f : sources.files()) {
                Path target = dir.resolve(f.path());
                Files.createDirectories(target.getParent());
                Files.writeString(target, new String(f.content()).toUpperCase());
            }
        }

        @Override
        public Program loadPrepared(ProgramSource source, Path dir) {
            return program(() -> Files.readString(dir.resolve(source.entry())));
        }

        private interface Text {
            String read() throws IOException;
        }

        private static Program program(Text text) {
            return new Program() {
                @Override
                public AttemptOutcome runAttempt(io.capsule.core.spi.AttemptSpec spec, io.capsule.core.spi.HostBridge host) {
                    try {
                        return AttemptOutcome.success(TextNode.valueOf(text.read()), "main", null, null);
                    } catch (IOException e) {
                        return AttemptOutcome.failure(ErrorType.TASK_ERROR, e.toString(), "main", null, null);
                    }
                }

                @Override
                public void close() {}
            };
        }
    }

    private final FakeRuntime runtime = new FakeRuntime();

    private Envelope run(CapsuleEngine engine, Path file, TaskListener listener) throws Exception {
        return engine.run(TaskRequest.file(file).listener(listener).build());
    }

    @Test
    void filesArePreparedOnceAndReusedUntilASourceChanges() throws Exception {
        Path main = project.resolve("main.fk");
        Files.writeString(main, "hello");
        Files.writeString(project.resolve("other.fk"), "x");
        List<String> loads = new ArrayList<>();
        TaskListener listener = new TaskListener() {
            @Override
            public void preparing(String program) {
                loads.add("preparing " + program);
            }

            @Override
            public void programLoaded(String program, boolean reused, long millis) {
                loads.add(reused ? "reused" : "prepared");
            }
        };
        try (CapsuleEngine engine = CapsuleEngine.builder().runtime(runtime).build()) {
            assertThat(run(engine, main, listener).result().asText()).isEqualTo("HELLO");
            assertThat(run(engine, main, listener).result().asText()).isEqualTo("HELLO");
            Files.writeString(project.resolve("other.fk"), "y");
            assertThat(run(engine, main, listener).result().asText()).isEqualTo("HELLO");
            runtime.format = "fake-2"; // a new runtime version prepares afresh too
            assertThat(run(engine, main, listener).result().asText()).isEqualTo("HELLO");
        }
        assertThat(runtime.prepares).hasValue(3);
        assertThat(runtime.plainLoads).hasValue(0);
        assertThat(loads).containsExactly("preparing main.fk", "prepared", "reused", "preparing main.fk", "prepared",
                "preparing main.fk", "prepared");
    }

    @Test
    void withoutTheCacheOrWithAnUnwritableProjectRunsStillWork() throws Exception {
        Path main = project.resolve("main.fk");
        Files.writeString(main, "hello");
        try (CapsuleEngine engine = CapsuleEngine.builder().runtime(runtime).projectCache(false).build()) {
            assertThat(run(engine, main, TaskListener.NONE).result().asText()).isEqualTo("hello");
        }
        assertThat(project.resolve(".capsule")).doesNotExist();

        Files.writeString(project.resolve(".capsule"), "a file where the cache directory should be");
        try (CapsuleEngine engine = CapsuleEngine.builder().runtime(runtime).build()) {
            Envelope e = run(engine, main, TaskListener.NONE);
            assertThat(e.success()).as(e.toJson()).isTrue();
            assertThat(e.result().asText()).isEqualTo("hello");
        }
        assertThat(runtime.plainLoads).hasValue(2);
    }

    @Test
    void preparedArtifactsRunWithoutSourcesAndOnlyOnTheirFormat() throws Exception {
        Path main = project.resolve("main.fk");
        Files.writeString(main, "from the artifact");
        Path artifactFile = project.resolve("out.capsule");
        try (CapsuleEngine engine = CapsuleEngine.builder().runtime(runtime).build()) {
            CapsuleEngine.Prepared p = engine.prepare(TaskRequest.file(main).build());
            assertThat(p.runtime()).isEqualTo("fake");
            assertThat(p.entry()).isEqualTo(Path.of("main.fk"));
            new Artifact(p.runtime(), p.preparedFormat(), p.entry(), p.dir(), null, null,
                    io.capsule.core.options.TaskDefaults.BUILT_IN, io.capsule.core.options.Ceilings.DEFAULT)
                    .write(artifactFile);
            Files.delete(main);
            Envelope e = engine.run(TaskRequest.artifact(artifactFile).build());
            assertThat(e.result().asText()).isEqualTo("FROM THE ARTIFACT");

            runtime.format = "fake-2";
            Envelope stale = engine.run(TaskRequest.artifact(artifactFile).build());
            assertThat(stale.error().type()).isEqualTo(ErrorType.INVALID_TASK);
            assertThat(stale.error().message()).contains("built for another version").contains("capsule build");

            Envelope missing = engine.run(TaskRequest.artifact(project.resolve("none.capsule")).build());
            assertThat(missing.error().type()).isEqualTo(ErrorType.INVALID_TASK);
            assertThat(missing.error().message()).startsWith("Artifact not found");
        }
    }
}
