package io.capsule.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import io.capsule.core.CapsuleEngine;
import io.capsule.core.Envelope;
import io.capsule.core.ErrorType;
import io.capsule.core.TaskRequest;
import io.capsule.core.options.Ceilings;
import io.capsule.core.options.FileGrant;
import io.capsule.core.policy.AccessPolicy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sandbox boundaries on real JavaScript/TypeScript programs, mirroring PythonSandboxTest and PythonHttpTest:
 * files (fs, fs/promises), environment, HTTP (fetch) against a local server on 127.0.0.1, grants of
 * sub-tasks, ceilings. Task code is hostile here.
 */
class JsSandboxTest {
    private static CapsuleEngine engine;
    private static HttpServer server;
    private static String base;
    /** What the server saw: "METHOD path". */
    private static final List<String> seen = new CopyOnWriteArrayList<>();

    @TempDir
    Path project;

    @BeforeAll
    static void start() throws IOException {
        engine = CapsuleEngine.builder().build();
        server = TestHttp.start(ex -> {
            String path = ex.getRequestURI().getPath();
            seen.add(ex.getRequestMethod() + " " + path);
            switch (path) {
                case "/hello" -> TestHttp.reply(ex, 200, "hello from 127.0.0.1");
                case "/json" -> TestHttp.reply(ex, 200, "{\"n\": 42, \"text\": \"é\"}");
                case "/echo" -> TestHttp.reply(ex, 200, ex.getRequestMethod() + ":" + new String(ex.getRequestBody().readAllBytes(),
                        StandardCharsets.UTF_8) + ":" + ex.getRequestHeaders().getFirst("X-Custom"));
                case "/redirect-same" -> TestHttp.redirect(ex, "/hello");
                case "/redirect-out" -> TestHttp.redirect(ex, "http://localhost:" + ex.getLocalAddress().getPort() + "/hello");
                default -> TestHttp.reply(ex, 404, "not here");
            }
        });
        base = "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @AfterAll
    static void stop() {
        server.stop(0);
        engine.close();
    }

    private Path write(String source) throws IOException {
        Path main = project.resolve("main.ts");
        Files.writeString(main, source);
        return main;
    }

    private Envelope run(String source, Object... args) throws Exception {
        return engine.run(TaskRequest.file(write(source)).args(List.of(args)).build());
    }

    /** Runs each probe in the task; returns probe name -> "CODE: message" or "ALLOWED: value". */
    private static final String PROBES = """
            import * as fs from "fs";
            import * as fsp from "fs/promises";
            import { task } from "@capsule-run/sdk";

            async function attempt(probes: Record<string, () => unknown>) {
              const out: Record<string, string> = {};
              for (const [name, fn] of Object.entries(probes)) {
                try {
                  out[name] = "ALLOWED: " + JSON.stringify(await fn());
                } catch (e: any) {
                  out[name] = (e.code || e.name) + ": " + e.message;
                }
              }
              return out;
            }
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
                export const main = task({ name: "main", allowedFiles: [{ path: "./data", mode: "ro" }, "./output"] },
                  async () => ({
                    ...(await attempt({
                      dotdot: () => fs.readFileSync("../../etc/passwd", "utf8"),
                      dotdot_in_mount: () => fs.readFileSync("./data/../../../etc/passwd", "utf8"),
                      absolute: () => fs.readFileSync("/etc/passwd", "utf8"),
                      absolute_app: () => fs.readFileSync("/app/../etc/passwd", "utf8"),
                      symlink_dir: () => fs.readFileSync("./data/etc/passwd", "utf8"),
                      symlink_file: () => fs.readFileSync("./data/passwd", "utf8"),
                      symlink_list: () => fs.readdirSync("./data/etc"),
                      symlink_up: () => fs.readFileSync("./data/up/secret.txt", "utf8"),
                      symlink_promise: () => fsp.readFile("./data/etc/passwd", "utf8"),
                      hard_link: () => fs.readFileSync("./data/hard.txt", "utf8"),
                      not_granted: () => fs.readFileSync("./secret.txt", "utf8"),
                      new_symlink: () => fs.symlinkSync("/etc", "./output/etc"),
                      new_hard_link: () => fs.linkSync("./data/ok.txt", "./output/ok.txt"),
                      rename_mount: () => fs.renameSync("./output", "./elsewhere"),
                      remove_mount: () => fs.rmdirSync("./output"),
                      write_outside: () => fs.writeFileSync("../escaped.txt", "x"),
                    })),
                    exists_etc: fs.existsSync("/etc/passwd"),
                    listing: fs.readdirSync("./data"),
                    ok: fs.readFileSync("/app/data/ok.txt", "utf8"),
                  }));
                """);
        assertThat(e.success()).as(e.toJson()).isTrue();
        JsonNode r = e.result();
        assertThat(r.get("ok").asText()).isEqualTo("fine");
        assertThat(r.get("exists_etc").asBoolean()).isFalse();
        for (String probe : List.of("dotdot", "dotdot_in_mount", "absolute", "absolute_app", "symlink_dir", "symlink_file",
                "symlink_list", "symlink_up", "symlink_promise", "hard_link", "not_granted", "new_symlink", "new_hard_link",
                "rename_mount", "remove_mount", "write_outside")) {
            assertThat(r.get(probe).asText()).as(probe + " in " + r).doesNotStartWith("ALLOWED");
        }
        for (String probe : List.of("dotdot", "absolute", "absolute_app", "symlink_dir", "symlink_file", "symlink_list",
                "symlink_promise", "hard_link", "not_granted", "write_outside")) {
            assertThat(r.get(probe).asText()).as(probe).startsWith("EACCES");
        }
        assertThat(r.get("new_symlink").asText()).startsWith("EPERM");
        assertThat(r.get("new_hard_link").asText()).startsWith("EPERM");
        assertThat(r.get("remove_mount").asText()).startsWith("EBUSY");
        assertThat(e.toJson()).doesNotContain("root:x:0:0").doesNotContain(project.toString());
        assertThat(project.resolve("output/etc")).doesNotExist();
        assertThat(project.resolve("output")).isDirectory();
        assertThat(project.getParent().resolve("escaped.txt")).doesNotExist();
    }

    @Test
    void everyWriteCallIsRefusedInAReadOnlyDirectory() throws Exception {
        Path data = Files.createDirectories(project.resolve("data"));
        Files.writeString(data.resolve("f.txt"), "original");
        Files.createDirectories(data.resolve("sub"));
        Envelope e = run(PROBES + """
                function callback(fn: (cb: (err: any) => void) => void) {
                  return new Promise((resolve, reject) => fn((err) => (err ? reject(err) : resolve("done"))));
                }

                export const main = task({ name: "main", allowedFiles: [{ path: "./data", mode: "read-only" }] }, () =>
                  attempt({
                    create: () => fs.writeFileSync("./data/new.txt", "x"),
                    overwrite: () => fs.writeFileSync("./data/f.txt", "x"),
                    overwrite_bytes: () => fs.writeFileSync("./data/f.txt", new Uint8Array([1, 2])),
                    append_flag: () => fs.writeFileSync("./data/f.txt", "x", { flag: "a" }),
                    append: () => fs.appendFileSync("./data/f.txt", "x"),
                    mkdir: () => fs.mkdirSync("./data/d"),
                    mkdir_recursive: () => fs.mkdirSync("./data/d/e", { recursive: true }),
                    rm: () => fs.rmSync("./data/f.txt"),
                    rm_recursive: () => fs.rmSync("./data/sub", { recursive: true, force: true }),
                    rmdir: () => fs.rmdirSync("./data/sub"),
                    unlink: () => fs.unlinkSync("./data/f.txt"),
                    rename: () => fs.renameSync("./data/f.txt", "./data/g.txt"),
                    copy: () => fs.copyFileSync("./data/f.txt", "./data/g.txt"),
                    symlink: () => fs.symlinkSync("f.txt", "./data/l"),
                    promise_write: () => fsp.writeFile("./data/f.txt", "x"),
                    promise_append: () => fsp.appendFile("./data/f.txt", "x"),
                    promise_mkdir: () => fsp.mkdir("./data/p"),
                    promise_rm: () => fsp.rm("./data/f.txt"),
                    promise_unlink: () => fsp.unlink("./data/f.txt"),
                    promise_rename: () => fsp.rename("./data/f.txt", "./data/g.txt"),
                    callback_write: () => callback((cb) => fs.writeFile("./data/f.txt", "x", cb)),
                    callback_unlink: () => callback((cb) => fs.unlink("./data/f.txt", cb)),
                  }));
                """);
        assertThat(e.success()).as(e.toJson()).isTrue();
        e.result().fields().forEachRemaining(f -> {
            String text = f.getValue().asText();
            assertThat(text).as(f.getKey()).doesNotStartWith("ALLOWED");
            assertThat(text).as(f.getKey()).startsWith(f.getKey().equals("symlink") ? "EPERM" : "EROFS");
        });
        assertThat(Files.readString(data.resolve("f.txt"))).isEqualTo("original");
        assertThat(data.resolve("sub")).isDirectory();
        try (var files = Files.list(data)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("f.txt", "sub");
        }
    }

    @Test
    void anUncaughtDenialIsPermissionDenied() throws Exception {
        Envelope file = run("""
                import { readFileSync } from "node:fs";
                export function main() {
                  return readFileSync("/etc/passwd", "utf8");
                }
                """);
        assertThat(file.error().type()).as(file.toJson()).isEqualTo(ErrorType.PERMISSION_DENIED);
        assertThat(file.error().message()).contains("EACCES").doesNotContain("root:");

        Files.createDirectories(project.resolve("data"));
        Envelope readOnly = run("""
                import { promises as fs } from "fs";
                import { task } from "@capsule-run/sdk";
                export const main = task({ name: "main", allowedFiles: [{ path: "./data", mode: "ro" }] },
                  async () => { await fs.writeFile("./data/x.txt", "x"); return "wrote"; });
                """);
        assertThat(readOnly.error().type()).as(readOnly.toJson()).isEqualTo(ErrorType.PERMISSION_DENIED);
        assertThat(readOnly.error().message()).contains("EROFS");

        Envelope missing = run("""
                import * as fs from "fs";
                import { task } from "@capsule-run/sdk";
                export const main = task({ name: "main", allowedFiles: ["./data"] },
                  () => fs.readFileSync("./data/nothing.txt", "utf8"));
                """);
        assertThat(missing.error().type()).as("a missing file is no denial").isEqualTo(ErrorType.TASK_ERROR);
        assertThat(missing.error().message()).contains("ENOENT: no such file or directory").doesNotContain(project.toString());

        Envelope http = run("""
                export async function main() {
                  return (await fetch("http://example.com/")).status;
                }
                """);
        assertThat(http.error().type()).as(http.toJson()).isEqualTo(ErrorType.PERMISSION_DENIED);
        assertThat(http.error().message()).contains("example.com");
    }

    @Test
    void onlyNamedEnvironmentVariablesExistAndValuesStayOutOfTheEnvelope() throws Exception {
        Path main = write("""
                import { task } from "@capsule-run/sdk";

                const child = task({ name: "child", envVariables: ["API_TOKEN", "OTHER_SECRET"] }, () => "ran");

                export const main = task({ name: "main", envVariables: ["API_TOKEN"] }, () => ({
                  has_token: process.env.API_TOKEN === "tok-123456",
                  other: process.env.OTHER_SECRET ?? null,
                  path: process.env.PATH ?? null,
                  names: Object.keys(process.env).sort(),
                  child: child(),
                }));
                """);
        Envelope e = engine.run(TaskRequest.file(main)
                .hostEnvironment(Map.of("API_TOKEN", "tok-123456", "OTHER_SECRET", "hunter2-secret", "PATH", "/bin"))
                .build());
        assertThat(e.success()).as(e.toJson()).isTrue();
        assertThat(e.result().get("has_token").asBoolean()).isTrue();
        assertThat(e.result().get("other").isNull()).isTrue();
        assertThat(e.result().get("path").isNull()).isTrue();
        assertThat(e.result().get("names").toString()).isEqualTo("[\"API_TOKEN\"]");
        JsonNode child = e.result().get("child");
        assertThat(child.get("error").get("type").asText()).isEqualTo("permission_denied");
        assertThat(child.get("error").get("message").asText()).contains("OTHER_SECRET");
        assertThat(e.toJson()).doesNotContain("tok-123456").doesNotContain("hunter2-secret");
    }

    @Test
    void subTasksCannotWidenTheirCallersGrants() throws Exception {
        Files.createDirectories(project.resolve("data/inner"));
        Envelope e = run("""
                import { task } from "@capsule-run/sdk";

                const probe = () => "ran";
                const children: Record<string, any> = {
                  root: task({ name: "root", allowedFiles: ["/"] }, probe),
                  rw_of_ro: task({ name: "rw_of_ro", allowedFiles: ["./data"] }, probe),
                  sibling: task({ name: "sibling", allowedFiles: ["./"] }, probe),
                  narrower: task({ name: "narrower", allowedFiles: [{ path: "./data/inner", mode: "ro" }] }, probe),
                  host: task({ name: "host", allowedHosts: ["*"] }, probe),
                  same_host: task({ name: "same_host", allowedHosts: ["api.example.com"] }, probe),
                  env: task({ name: "env", envVariables: ["HOME"] }, probe),
                };

                export const main = task({ name: "main", allowedFiles: [{ path: "./data", mode: "ro" }],
                    allowedHosts: ["api.example.com"] }, () => {
                  const out: Record<string, string> = {};
                  for (const [name, t] of Object.entries(children)) {
                    const r = t();
                    out[name] = r.error ? r.error.type : "ok";
                  }
                  return out;
                });
                """);
        assertThat(e.success()).as(e.toJson()).isTrue();
        JsonNode r = e.result();
        assertThat(r.get("root").asText()).isEqualTo("invalid_task");
        assertThat(r.get("rw_of_ro").asText()).isEqualTo("permission_denied");
        assertThat(r.get("sibling").asText()).isEqualTo("permission_denied");
        assertThat(r.get("narrower").asText()).isEqualTo("ok");
        assertThat(r.get("host").asText()).isEqualTo("permission_denied");
        assertThat(r.get("same_host").asText()).isEqualTo("ok");
        assertThat(r.get("env").asText()).isEqualTo("permission_denied");
    }

    @Test
    void hostCeilingBoundsEntryGrantsAndResources() throws Exception {
        Files.createDirectories(project.resolve("data"));
        Path main = write("""
                import { task } from "@capsule-run/sdk";
                export const main = task({ name: "main", compute: "HIGH", ram: "100GB", allowedFiles: ["./data"] }, () => {
                  const chunks = [];
                  for (let i = 0; i < 30; i++) chunks.push(new Uint8Array(10 * 1024 * 1024).fill(1));
                  return chunks.length;
                });
                """);
        Envelope e = engine.run(TaskRequest.file(main).ceilings(Ceilings.DEFAULT.withMaxRamBytes(128L << 20)).build());
        assertThat(e.error().type()).as(e.toJson()).isEqualTo(ErrorType.MEMORY_EXHAUSTED);
        assertThat(e.error().message()).contains("128MB");

        write("""
                import { task } from "@capsule-run/sdk";
                export const main = task({ name: "main", compute: "HIGH" }, () => { for (;;) {} });
                """);
        Envelope fuel = engine.run(TaskRequest.file(main).ceilings(Ceilings.DEFAULT.withMaxFuel(20_000_000L)).build());
        assertThat(fuel.error().type()).as(fuel.toJson()).isEqualTo(ErrorType.FUEL_EXHAUSTED);
        assertThat(fuel.error().message()).contains("20000000");
        assertThat(fuel.execution().fuelConsumed()).isEqualTo(20_000_000L);

        write("""
                import { task } from "@capsule-run/sdk";
                export const main = task({ name: "main", allowedFiles: ["./data"] }, () => "ran");
                """);
        AccessPolicy readOnlyData = AccessPolicy.DEFAULT.withMaxFiles(List.of(new FileGrant("./data", false)));
        Envelope denied = engine.run(TaskRequest.file(main).access(readOnlyData).build());
        assertThat(denied.error().type()).as(denied.toJson()).isEqualTo(ErrorType.PERMISSION_DENIED);
        assertThat(denied.error().message()).contains("beyond what the host allows");
    }

    @Test
    void endlessSubTasksAreBoundedAndTheHostStaysHealthy() throws Exception {
        Path main = write("""
                import { task } from "@capsule-run/sdk";

                const deeper: any = task({ name: "deeper" }, (n: number): any => {
                  const r = deeper(n + 1);
                  return r.success ? r.result : { depth: n, stopped: r.error.message };
                });
                const leaf = task({ name: "leaf" }, () => 1);

                export const main = task({ name: "main" }, (mode: string) => {
                  if (mode === "deep") return deeper(1).result;
                  const results = [];
                  for (let i = 0; i < 30; i++) results.push(leaf());
                  return { ok: results.filter((r) => r.success).length,
                           refused: results.filter((r) => !r.success).map((r) => r.error.message).slice(0, 1) };
                });
                """);
        Ceilings ceilings = Ceilings.DEFAULT.withSubtasks(10, 3);
        Envelope deep = engine.run(TaskRequest.file(main).args(List.of("deep")).ceilings(ceilings).build());
        assertThat(deep.success()).as(deep.toJson()).isTrue();
        assertThat(deep.result().get("depth").asInt()).isEqualTo(3);
        assertThat(deep.result().get("stopped").asText()).contains("at most 3 deep");

        Envelope wide = engine.run(TaskRequest.file(main).args(List.of("wide")).ceilings(ceilings).build());
        assertThat(wide.success()).as(wide.toJson()).isTrue();
        assertThat(wide.result().get("ok").asInt()).isEqualTo(10);
        assertThat(wide.result().get("refused").get(0).asText()).contains("at most 10 sub-tasks");

        assertThat(run("export const main = () => 6 * 7;\n").result().asInt()).isEqualTo(42);
    }

    @Test
    void fileRoundTrip() throws Exception {
        Files.createDirectories(project.resolve("data"));
        Files.createDirectories(project.resolve("output"));
        Files.writeString(project.resolve("data/input.txt"), "hello from the host\n");
        Files.write(project.resolve("data/bytes.bin"), new byte[] {0, 1, (byte) 0xff, 0x7f});
        Envelope e = run("""
                import * as fs from "fs";
                import { readFile, writeFile, readdir } from "fs/promises";
                import { task } from "@capsule-run/sdk";

                export const main = task({ name: "main", allowedFiles: [{ path: "./data", mode: "ro" }, "./output"] },
                  async () => {
                    const text = fs.readFileSync("./data/input.txt", "utf8");
                    const bytes = Array.from(fs.readFileSync("./data/bytes.bin") as Uint8Array);
                    fs.mkdirSync("./output/a/b", { recursive: true });
                    fs.writeFileSync("./output/result.txt", text.toUpperCase());
                    fs.appendFileSync("./output/result.txt", "é!");
                    await writeFile("./output/a/b/raw.bin", new Uint8Array([7, 8, 9]));
                    fs.renameSync("./output/a/b/raw.bin", "./output/a/raw.bin");
                    fs.writeFileSync("./output/gone.txt", "x");
                    fs.unlinkSync("./output/gone.txt");
                    fs.mkdirSync("./output/tree/deep", { recursive: true });
                    fs.writeFileSync("./output/tree/deep/f.txt", "x");
                    fs.rmSync("./output/tree", { recursive: true });
                    fs.rmSync("./output/never", { force: true });
                    const stat = fs.statSync("./output/a/raw.bin");
                    let roError = "none";
                    try {
                      fs.writeFileSync("./data/new.txt", "x");
                    } catch (err: any) {
                      roError = err.code + " " + err.message;
                    }
                    return { read: text, bytes, roError, size: stat.size, isFile: stat.isFile(),
                             listing: await readdir("./output"), exists: fs.existsSync("./output/gone.txt"),
                             back: await readFile("./output/result.txt", "utf8"),
                             types: fs.readdirSync("./output", { withFileTypes: true }).map((d) => d.name + ":" + d.isDirectory()) };
                  });
                """);
        assertThat(e.success()).as(e.toJson()).isTrue();
        JsonNode r = e.result();
        assertThat(r.get("read").asText()).isEqualTo("hello from the host\n");
        assertThat(r.get("bytes").toString()).isEqualTo("[0,1,255,127]");
        assertThat(r.get("roError").asText()).startsWith("EROFS").contains("./data/new.txt");
        assertThat(r.get("size").asInt()).isEqualTo(3);
        assertThat(r.get("isFile").asBoolean()).isTrue();
        assertThat(r.get("listing").toString()).isEqualTo("[\"a\",\"result.txt\"]");
        assertThat(r.get("exists").asBoolean()).isFalse();
        assertThat(r.get("back").asText()).isEqualTo("HELLO FROM THE HOST\né!");
        assertThat(r.get("types").toString()).isEqualTo("[\"a:true\",\"result.txt:false\"]");
        assertThat(Files.readString(project.resolve("output/result.txt"))).isEqualTo("HELLO FROM THE HOST\né!");
        assertThat(Files.readAllBytes(project.resolve("output/a/raw.bin"))).containsExactly(7, 8, 9);
        assertThat(project.resolve("data/new.txt")).doesNotExist();
    }

    @Test
    void httpRoundTripWithRedirectsIsRecorded() throws Exception {
        seen.clear();
        Path main = write("""
                import { task } from "@capsule-run/sdk";

                export const main = task({ name: "main", allowedHosts: ["127.0.0.1"] }, async (base: string) => {
                  const hello = await fetch(base + "/hello");
                  const json = await (await fetch(base + "/json")).json();
                  const echo = await fetch(base + "/echo", { method: "POST", body: "payload", headers: { "X-Custom": "yes" } });
                  const redirected = await fetch(base + "/redirect-same");
                  const missing = await fetch(base + "/missing");
                  const bytes = new Uint8Array(await (await fetch(base + "/hello")).arrayBuffer());
                  return {
                    hello: { status: hello.status, ok: hello.ok, body: await hello.text(), header: hello.headers.get("x-served-by") },
                    json, echo: await echo.text(),
                    redirected: { url: redirected.url, redirected: redirected.redirected, body: await redirected.text() },
                    missing: { status: missing.status, ok: missing.ok }, length: bytes.length,
                  };
                });
                """);
        Envelope e = engine.run(TaskRequest.file(main).args(List.of(base)).build());
        assertThat(e.success()).as(e.toJson()).isTrue();
        JsonNode r = e.result();
        assertThat(r.get("hello").get("status").asInt()).isEqualTo(200);
        assertThat(r.get("hello").get("ok").asBoolean()).isTrue();
        assertThat(r.get("hello").get("body").asText()).isEqualTo("hello from 127.0.0.1");
        assertThat(r.get("hello").get("header").asText()).isEqualTo("test");
        assertThat(r.get("json").get("n").asInt()).isEqualTo(42);
        assertThat(r.get("json").get("text").asText()).isEqualTo("é");
        assertThat(r.get("echo").asText()).isEqualTo("POST:payload:yes");
        assertThat(r.get("redirected").get("url").asText()).isEqualTo(base + "/hello");
        assertThat(r.get("redirected").get("redirected").asBoolean()).isTrue();
        assertThat(r.get("redirected").get("body").asText()).isEqualTo("hello from 127.0.0.1");
        assertThat(r.get("missing").get("status").asInt()).isEqualTo(404);
        assertThat(r.get("missing").get("ok").asBoolean()).isFalse();
        assertThat(r.get("length").asInt()).isEqualTo("hello from 127.0.0.1".length());
        assertThat(seen).contains("POST /echo");
        List<JsonNode> requests = e.execution().hostRequests();
        assertThat(requests).hasSize(7);
        assertThat(requests.get(3).get("status").asInt()).isEqualTo(302);
        assertThat(requests.get(4).get("url").asText()).isEqualTo(base + "/hello");
    }

    @Test
    void unlistedHostsAndRedirectsToThemAreDenied() throws Exception {
        seen.clear();
        Path main = write("""
                import { task } from "@capsule-run/sdk";

                async function get(url: string) {
                  try {
                    return "ALLOWED: " + (await (await fetch(url)).text());
                  } catch (e: any) {
                    return (e.code || e.name) + ": " + e.message;
                  }
                }

                export const main = task({ name: "main", allowedHosts: ["127.0.0.1"] }, async (base: string) => ({
                  other: await get("http://example.com/"),
                  by_name: await get(base.replace("127.0.0.1", "localhost") + "/hello"),
                  redirect_out: await get(base + "/redirect-out"),
                }));
                """);
        Envelope e = engine.run(TaskRequest.file(main).args(List.of(base)).build());
        assertThat(e.success()).as(e.toJson()).isTrue();
        JsonNode r = e.result();
        for (String probe : List.of("other", "by_name", "redirect_out")) {
            assertThat(r.get(probe).asText()).as(probe).startsWith("EACCES: fetch failed");
        }
        assertThat(r.get("redirect_out").asText()).contains("localhost");
        // The redirect itself was fetched from the allowed host; its target never was.
        assertThat(seen).containsExactly("GET /redirect-out");
        List<JsonNode> requests = e.execution().hostRequests();
        assertThat(requests).anySatisfy(q -> assertThat(q.has("denied")).isTrue());
        assertThat(requests.stream().filter(q -> q.path("url").asText().contains("localhost"))).allSatisfy(
                q -> assertThat(q.has("status")).isFalse());
    }
}
