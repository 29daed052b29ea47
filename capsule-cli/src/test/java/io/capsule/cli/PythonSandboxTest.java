package io.capsule.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.capsule.core.Envelope;
import io.capsule.core.ErrorType;
import io.capsule.core.TaskRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Sandbox boundaries on real Python programs: files, environment, ceilings. Task code is hostile here. */
class PythonSandboxTest extends EngineTest {
    @TempDir
    Path project;

    private Envelope run(String source, Object... args) throws Exception {
        Path main = project.resolve("main.py");
        Files.writeString(main, source);
        return engine.run(TaskRequest.file(main).args(List.of(args)).build());
    }

    /** Runs each probe in the task; every one must raise OSError. Returns probe name -> "errno: message". */
    private static final String PROBES = """
            import errno, os

            def attempt(probes):
                out = {}
                for name, fn in probes.items():
                    try:
                        value = fn()
                        out[name] = "ALLOWED: %r" % (value,)
                    except OSError as e:
                        out[name] = "%s: %s" % (errno.errorcode.get(e.errno, e.errno), e.strerror)
                return out
            """;

    @Test
    void escapesOutOfTheAllowedDirectoriesAreRefused() throws Exception {
        Path data = Files.createDirectories(project.resolve("data"));
        Files.createDirectories(project.resolve("output"));
        Files.writeString(data.resolve("ok.txt"), "fine");
        Path secret = Files.writeString(project.resolve("secret.txt"), "root:x:0:0 not for the task");
        Files.createSymbolicLink(data.resolve("etc"), Path.of("/etc"));
        Files.createSymbolicLink(data.resolve("passwd"), Path.of("/etc/passwd"));
        Files.createSymbolicLink(data.resolve("up"), Path.of(".."));
        Files.createLink(data.resolve("hard.txt"), secret);
        Envelope e = run(PROBES + """
                from capsule import task

                @task(name="main", allowed_files=[{"path": "./data", "mode": "ro"}, "./output"])
                def main():
                    return attempt({
                        "dotdot": lambda: open("../../etc/passwd").read(),
                        "dotdot_in_mount": lambda: open("./data/../../../etc/passwd").read(),
                        "absolute": lambda: open("/etc/passwd").read(),
                        "absolute_guest": lambda: open("/guest/app/../../etc/passwd").read(),
                        "symlink_dir": lambda: open("./data/etc/passwd").read(),
                        "symlink_file": lambda: open("./data/passwd").read(),
                        "symlink_list": lambda: os.listdir("./data/etc"),
                        "symlink_up": lambda: open("./data/up/secret.txt").read(),
                        "hard_link": lambda: open("./data/hard.txt").read(),
                        "not_granted": lambda: open("./secret.txt").read(),
                        "new_symlink": lambda: os.symlink("/etc", "./output/etc"),
                        "new_symlink_rel": lambda: os.symlink("../secret.txt", "./output/s"),
                        "new_hard_link": lambda: os.link("./data/ok.txt", "./output/ok.txt"),
                        "rename_mount": lambda: os.rename("./output", "./elsewhere"),
                        "remove_mount": lambda: os.rmdir("./output"),
                    }) | {"listing": sorted(os.listdir("./data")), "ok": open("./data/ok.txt").read()}
                """);
        assertThat(e.success()).as(e.toJson()).isTrue();
        var r = e.result();
        assertThat(r.get("ok").asText()).isEqualTo("fine");
        for (String probe : List.of("dotdot", "dotdot_in_mount", "absolute", "absolute_guest", "symlink_dir", "symlink_file",
                "symlink_list", "symlink_up", "hard_link", "not_granted", "new_symlink", "new_symlink_rel", "new_hard_link",
                "rename_mount", "remove_mount")) {
            assertThat(r.get(probe).asText()).as(probe + " in " + r).doesNotStartWith("ALLOWED");
        }
        assertThat(r.get("symlink_dir").asText()).startsWith("EACCES");
        assertThat(r.get("symlink_file").asText()).startsWith("EACCES");
        assertThat(r.get("hard_link").asText()).startsWith("EACCES");
        assertThat(r.get("new_symlink").asText()).matches("(EPERM|EACCES).*");
        assertThat(r.get("new_hard_link").asText()).startsWith("EPERM");
        assertThat(r.get("remove_mount").asText()).startsWith("EBUSY");
        assertThat(e.toJson()).doesNotContain("root:x:0:0");
        assertThat(project.resolve("output/etc")).doesNotExist();
        assertThat(project.resolve("output")).isDirectory();
    }

    @Test
    void everyWriteCallIsRefusedInAReadOnlyDirectory() throws Exception {
        Path data = Files.createDirectories(project.resolve("data"));
        Files.writeString(data.resolve("f.txt"), "original");
        Files.createDirectories(data.resolve("sub"));
        Envelope e = run(PROBES + """
                from capsule import task

                def ftruncate():
                    fd = os.open("./data/f.txt", os.O_RDONLY)
                    try:
                        os.ftruncate(fd, 0)
                    finally:
                        os.close(fd)

                def fwrite():
                    fd = os.open("./data/f.txt", os.O_RDONLY)
                    try:
                        return os.write(fd, b"x")
                    finally:
                        os.close(fd)

                @task(name="main", allowed_files=[{"path": "./data", "mode": "read-only"}])
                def main():
                    return attempt({
                        "create": lambda: open("./data/new.txt", "x"),
                        "truncate_open": lambda: open("./data/f.txt", "w"),
                        "append": lambda: open("./data/f.txt", "a"),
                        "read_write": lambda: open("./data/f.txt", "r+"),
                        "truncate": lambda: os.truncate("./data/f.txt", 0),
                        "ftruncate": ftruncate,
                        "write_ro_fd": fwrite,
                        "mkdir": lambda: os.mkdir("./data/d"),
                        "rmdir": lambda: os.rmdir("./data/sub"),
                        "rename": lambda: os.rename("./data/f.txt", "./data/g.txt"),
                        "unlink": lambda: os.unlink("./data/f.txt"),
                        "symlink": lambda: os.symlink("f.txt", "./data/l"),
                        "link": lambda: os.link("./data/f.txt", "./data/h"),
                        "utime": lambda: os.utime("./data/f.txt", (0, 0)),
                        "sources": lambda: open("./main.py", "a"),
                        "harness": lambda: open("/guest/guest.py", "w"),
                    })
                """);
        assertThat(e.success()).as(e.toJson()).isTrue();
        e.result().fields().forEachRemaining(f ->
                assertThat(f.getValue().asText()).as(f.getKey()).doesNotStartWith("ALLOWED"));
        for (String probe : List.of("create", "truncate_open", "append", "read_write", "truncate", "mkdir", "rmdir",
                "rename", "unlink", "utime", "sources", "harness")) {
            assertThat(e.result().get(probe).asText()).as(probe).startsWith("EROFS");
        }
        assertThat(Files.readString(data.resolve("f.txt"))).isEqualTo("original");
        assertThat(data.resolve("sub")).isDirectory();
        try (var files = Files.list(data)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("f.txt", "sub");
        }
    }

    @Test
    void readWriteDirectoryAllowsTheUsualFileWork() throws Exception {
        Files.createDirectories(project.resolve("work"));
        Envelope e = run("""
                import os
                from capsule import task

                @task(name="main", allowed_files=["./work"])
                def main():
                    os.makedirs("./work/a/b")
                    with open("./work/a/b/x.txt", "w") as f:
                        f.write("1")
                    with open("./work/a/b/x.txt", "a") as f:
                        f.write("2")
                    os.rename("./work/a/b/x.txt", "./work/y.txt")
                    os.truncate("./work/y.txt", 1)
                    os.utime("./work/y.txt", (1, 1))
                    os.rmdir("./work/a/b")
                    open("./work/gone.txt", "w").close()
                    os.remove("./work/gone.txt")
                    return {"listing": sorted(os.listdir("./work")), "y": open("./work/y.txt").read(),
                            "cwd": os.getcwd(), "mtime": os.stat("./work/y.txt").st_mtime}
                """);
        assertThat(e.success()).as(e.toJson()).isTrue();
        assertThat(e.result().get("listing").toString()).isEqualTo("[\"a\",\"y.txt\"]");
        assertThat(e.result().get("y").asText()).isEqualTo("1");
        assertThat(e.result().get("mtime").asDouble()).isEqualTo(1.0);
        assertThat(Files.readString(project.resolve("work/y.txt"))).isEqualTo("1");
    }

    @Test
    void pathsOutsideTheProjectAreInvalidBeforeTheTaskRuns() throws Exception {
        Envelope e = run("""
                from capsule import task

                @task(name="main", allowed_files=["../"])
                def main():
                    return "ran"
                """);
        assertThat(e.error().type()).as(e.toJson()).isEqualTo(ErrorType.INVALID_TASK);
        assertThat(e.error().message()).contains("escapes the project directory");

        Envelope root = run("""
                from capsule import task

                @task(name="main", allowed_files=["/"])
                def main():
                    return "ran"
                """);
        assertThat(root.error().type()).isEqualTo(ErrorType.INVALID_TASK);

        Files.createSymbolicLink(project.resolve("link"), Path.of("/etc"));
        Envelope link = run("""
                from capsule import task

                @task(name="main", allowed_files=["./link"])
                def main():
                    return "ran"
                """);
        assertThat(link.error().type()).isEqualTo(ErrorType.INVALID_TASK);
        assertThat(link.error().message()).contains("symbolic link out of the project");
    }

    @Test
    void onlyNamedEnvironmentVariablesExistAndValuesStayOutOfTheEnvelope() throws Exception {
        Path main = project.resolve("main.py");
        Files.writeString(main, """
                import os
                from capsule import task

                @task(name="child", env_variables=["API_TOKEN", "OTHER_SECRET"])
                def child():
                    return "ran"

                @task(name="main", env_variables=["API_TOKEN"])
                def main():
                    token = os.environ.get("API_TOKEN")
                    return {"has_token": token == "tok-123456", "other": os.environ.get("OTHER_SECRET"),
                            "names": sorted(os.environ), "child": child()}
                """);
        Envelope e = engine.run(TaskRequest.file(main)
                .hostEnvironment(java.util.Map.of("API_TOKEN", "tok-123456", "OTHER_SECRET", "hunter2-secret", "PATH", "/bin"))
                .build());
        assertThat(e.success()).as(e.toJson()).isTrue();
        assertThat(e.result().get("has_token").asBoolean()).isTrue();
        assertThat(e.result().get("other").isNull()).isTrue();
        assertThat(e.result().get("names").toString()).isEqualTo("[\"API_TOKEN\"]");
        var child = e.result().get("child");
        assertThat(child.get("error").get("type").asText()).isEqualTo("permission_denied");
        assertThat(child.get("error").get("message").asText()).contains("OTHER_SECRET");
        assertThat(e.toJson()).doesNotContain("tok-123456").doesNotContain("hunter2-secret");
    }

    @Test
    void subTasksCannotWidenTheirCallersGrants() throws Exception {
        Files.createDirectories(project.resolve("data/inner"));
        Envelope e = run("""
                from capsule import task

                def probe():
                    return "ran"

                CHILDREN = {
                    "root": task(name="root", allowed_files=["/"])(probe),
                    "rw_of_ro": task(name="rw_of_ro", allowed_files=["./data"])(probe),
                    "sibling": task(name="sibling", allowed_files=["./"])(probe),
                    "narrower": task(name="narrower", allowed_files=[{"path": "./data/inner", "mode": "ro"}])(probe),
                    "host": task(name="host", allowed_hosts=["*"])(probe),
                    "same_host": task(name="same_host", allowed_hosts=["api.example.com"])(probe),
                    "env": task(name="env", env_variables=["HOME"])(probe),
                }

                @task(name="main", allowed_files=[{"path": "./data", "mode": "ro"}], allowed_hosts=["api.example.com"])
                def main():
                    outcomes = {name: t() for name, t in CHILDREN.items()}
                    return {k: v["error"]["type"] if v["error"] else "ok" for k, v in outcomes.items()}
                """);
        assertThat(e.success()).as(e.toJson()).isTrue();
        assertThat(e.result().get("root").asText()).isEqualTo("invalid_task");
        assertThat(e.result().get("rw_of_ro").asText()).isEqualTo("permission_denied");
        assertThat(e.result().get("sibling").asText()).isEqualTo("permission_denied");
        assertThat(e.result().get("narrower").asText()).isEqualTo("ok");
        assertThat(e.result().get("host").asText()).isEqualTo("permission_denied");
        assertThat(e.result().get("same_host").asText()).isEqualTo("ok");
        assertThat(e.result().get("env").asText()).isEqualTo("permission_denied");
    }

    @Test
    void aTaskCannotReconfigureItselfToWidenItsGrants() throws Exception {
        Files.createDirectories(project.resolve("data"));
        Files.writeString(project.resolve("secret.txt"), "secret");
        Envelope e = run("""
                import guest
                from capsule import task

                @task(name="main", allowed_files=[{"path": "./data", "mode": "ro"}])
                def main():
                    answer = guest._host_call({"op": "configure", "task": "main", "options": {"allowed_files": ["./"]},
                                               "tasks": {}})
                    try:
                        open("./secret.txt").read()
                        return "widened"
                    except OSError as err:
                        return {"answer": answer, "read": err.strerror}
                """);
        assertThat(e.success()).as(e.toJson()).isTrue();
        assertThat(e.result().get("answer").get("ok").asBoolean()).isFalse();
        assertThat(e.result().get("answer").get("error").get("message").asText()).contains("already configured");
        assertThat(e.toJson()).doesNotContain("\"secret\"");
    }

    @Test
    void hostCeilingBoundsEntryGrantsAndResources() throws Exception {
        Files.createDirectories(project.resolve("data"));
        Path main = project.resolve("main.py");
        Files.writeString(main, """
                from capsule import task

                @task(name="main", compute="HIGH", ram="100GB", allowed_files=["./data"])
                def main():
                    data = bytearray(300 * 1024 * 1024)
                    return len(data)
                """);
        var ceilings = io.capsule.core.options.Ceilings.DEFAULT.withMaxRamBytes(128L << 20);
        Envelope e = engine.run(TaskRequest.file(main).ceilings(ceilings).build());
        assertThat(e.error().type()).as(e.toJson()).isEqualTo(ErrorType.MEMORY_EXHAUSTED);
        assertThat(e.error().message()).contains("128MB");

        Files.writeString(main, """
                from capsule import task

                @task(name="main", compute="HIGH")
                def main():
                    while True:
                        pass
                """);
        Envelope fuel = engine.run(TaskRequest.file(main).ceilings(
                io.capsule.core.options.Ceilings.DEFAULT.withMaxFuel(20_000_000L)).build());
        assertThat(fuel.error().type()).as(fuel.toJson()).isEqualTo(ErrorType.FUEL_EXHAUSTED);
        assertThat(fuel.error().message()).contains("20000000");

        var readOnlyData = io.capsule.core.policy.AccessPolicy.DEFAULT.withMaxFiles(
                List.of(new io.capsule.core.options.FileGrant("./data", false)));
        Files.writeString(main, """
                from capsule import task

                @task(name="main", allowed_files=["./data"])
                def main():
                    return "ran"
                """);
        Envelope denied = engine.run(TaskRequest.file(main).access(readOnlyData).build());
        assertThat(denied.error().type()).as(denied.toJson()).isEqualTo(ErrorType.PERMISSION_DENIED);
        assertThat(denied.error().message()).contains("beyond what the host allows");
    }

    @Test
    void endlessSubTasksAreBoundedAndTheHostStaysHealthy() throws Exception {
        Path main = project.resolve("main.py");
        Files.writeString(main, """
                from capsule import task

                @task(name="deeper")
                def deeper(n):
                    r = deeper(n + 1)
                    return r["result"] if r["success"] else {"depth": n, "stopped": r["error"]["message"]}

                @task(name="leaf")
                def leaf():
                    return 1

                @task(name="main")
                def main(mode):
                    if mode == "deep":
                        return deeper(1)["result"]
                    results = [leaf() for _ in range(30)]
                    return {"ok": sum(1 for r in results if r["success"]),
                            "refused": [r["error"]["message"] for r in results if not r["success"]][:1]}
                """);
        var ceilings = io.capsule.core.options.Ceilings.DEFAULT.withSubtasks(10, 3);
        Envelope deep = engine.run(TaskRequest.file(main).args(List.of("deep")).ceilings(ceilings).build());
        assertThat(deep.success()).as(deep.toJson()).isTrue();
        assertThat(deep.result().get("depth").asInt()).isEqualTo(3);
        assertThat(deep.result().get("stopped").asText()).contains("at most 3 deep");

        Envelope wide = engine.run(TaskRequest.file(main).args(List.of("wide")).ceilings(ceilings).build());
        assertThat(wide.success()).as(wide.toJson()).isTrue();
        assertThat(wide.result().get("ok").asInt()).isEqualTo(10);
        assertThat(wide.result().get("refused").get(0).asText()).contains("at most 10 sub-tasks");

        assertThat(run("def main():\n    return 6 * 7\n").result().asInt()).isEqualTo(42);
    }

    @Test
    void cliMountShowsAHostDirectoryReadOnlyOrReadWrite(@TempDir Path elsewhere) throws Exception {
        Files.writeString(elsewhere.resolve("in.txt"), "from elsewhere");
        Files.createDirectories(project.resolve("out"));
        Path main = project.resolve("main.py");
        Files.writeString(main, """
                import os
                def main():
                    text = open("shared/in.txt").read()
                    open("out/copy.txt", "w").write(text)
                    try:
                        open("shared/new.txt", "w")
                    except OSError as e:
                        return text + " / " + e.strerror
                """);
        CliRunner r = CliRunner.run("run", main.toString(), "--json",
                "--mount", elsewhere + "::shared:ro", "--mount", project.resolve("out") + ":rw");
        assertThat(r.status()).as(r.stdout() + r.stderr()).isZero();
        assertThat(r.stdout()).contains("from elsewhere / Read-only file system");
        assertThat(project.resolve("out/copy.txt")).hasContent("from elsewhere");
        assertThat(elsewhere.resolve("new.txt")).doesNotExist();

        CliRunner bad = CliRunner.run("run", main.toString(), "--mount", elsewhere + "::../up");
        assertThat(bad.status()).isEqualTo(2);
        assertThat(bad.stderr()).contains("GUEST must be a path relative");
        CliRunner missing = CliRunner.run("run", main.toString(), "--mount", project.resolve("nope").toString());
        assertThat(missing.status()).isEqualTo(2);
        assertThat(missing.stderr()).contains("no such directory");
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
