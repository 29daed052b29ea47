package io.capsule.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.capsule.core.CapsuleEngine;
import io.capsule.core.Envelope;
import io.capsule.core.ErrorType;
import io.capsule.core.TaskRequest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** JavaScript's fs (backed by the task's allowed directories) and fetch (through the host's gateway). */
class JsFilesAndHttpTest {
    private static CapsuleEngine engine;
    private static HttpServer server;
    private static String base;

    @TempDir
    Path project;

    @BeforeAll
    static void start() throws IOException {
        engine = CapsuleEngine.builder().build();
        server = TestHttp.start(ex -> {
            switch (ex.getRequestURI().getPath()) {
                case "/json" -> TestHttp.reply(ex, 200, "{\"greeting\": \"héllo\"}");
                case "/echo" -> TestHttp.reply(ex, 201, ex.getRequestMethod() + ":" + new String(ex.getRequestBody().readAllBytes(),
                        StandardCharsets.UTF_8) + ":" + ex.getRequestHeaders().getFirst("X-Custom"));
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

    private Envelope run(String source, Object... args) throws Exception {
        Path main = project.resolve("main.ts");
        Files.writeString(main, source);
        return engine.run(TaskRequest.file(main).projectRoot(project).args(List.of(args)).build());
    }

    @Test
    void filesInAllowedDirectoriesOnly() throws Exception {
        Files.createDirectories(project.resolve("data"));
        Files.createDirectories(project.resolve("ro"));
        Files.writeString(project.resolve("ro/in.txt"), "hello file\n");
        Files.writeString(project.resolve("secret.txt"), "not for tasks");
        Envelope e = run("""
                import { task } from "@capsule-run/sdk";
                import * as fs from "fs";
                import { readFile, writeFile } from "node:fs/promises";

                export const main = task({ name: "main", allowedFiles: ["./data", { path: "./ro", mode: "ro" }] }, async () => {
                  const out: unknown[] = [];
                  fs.writeFileSync("./data/out.txt", "written ✓");
                  fs.appendFileSync("data/out.txt", "!");
                  await writeFile("./data/bytes.bin", new Uint8Array([0, 255, 7]));
                  out.push(fs.readFileSync("./data/out.txt", "utf8"), Array.from(fs.readFileSync("./data/bytes.bin")));
                  fs.mkdirSync("./data/sub/deeper", { recursive: true });
                  out.push(fs.readdirSync("./data"), fs.statSync("./data/out.txt").isFile(), fs.existsSync("./data/nope"));
                  out.push(await readFile("./ro/in.txt", "utf8"));
                  for (const bad of ["/etc/passwd", "../escape.txt", "./secret.txt", "./ro/in.txt"]) {
                    try {
                      fs.writeFileSync(bad, "x");
                      out.push("WROTE " + bad);
                    } catch (err: any) {
                      out.push(bad + " " + err.code);
                    }
                  }
                  fs.renameSync("./data/out.txt", "./data/renamed.txt");
                  fs.unlinkSync("./data/bytes.bin");
                  return out;
                });
                """);
        assertThat(e.success()).as(e.toJson()).isTrue();
        assertThat(e.result().toString()).isEqualTo("[\"written ✓!\",[0,255,7],[\"bytes.bin\",\"out.txt\",\"sub\"],true,false,"
                + "\"hello file\\n\",\"/etc/passwd EACCES\",\"../escape.txt EACCES\",\"./secret.txt EACCES\",\"./ro/in.txt EROFS\"]");
        assertThat(Files.readString(project.resolve("data/renamed.txt"))).isEqualTo("written ✓!");
        assertThat(project.resolve("data/bytes.bin")).doesNotExist();
        assertThat(Files.readString(project.resolve("ro/in.txt"))).isEqualTo("hello file\n");
        assertThat(Files.readString(project.resolve("secret.txt"))).isEqualTo("not for tasks");
    }

    @Test
    void anUncaughtRefusalIsPermissionDenied() throws Exception {
        Envelope e = run("""
                import { readFileSync } from "fs";
                export const main = () => readFileSync("/etc/passwd", "utf8");
                """);
        assertThat(e.error().type()).as(e.toJson()).isEqualTo(ErrorType.PERMISSION_DENIED);
        assertThat(e.error().message()).contains("EACCES").contains("/etc/passwd");

        Envelope missing = run("""
                import { task } from "@capsule-run/sdk";
                import { readFileSync } from "fs";
                export const main = task({ name: "main", allowedFiles: ["./"] }, () => readFileSync("./missing.txt", "utf8"));
                """);
        assertThat(missing.error().type()).as(missing.toJson()).isEqualTo(ErrorType.TASK_ERROR);
        assertThat(missing.error().message()).contains("ENOENT");
    }

    @Test
    void fetchGoesThroughTheGatewayAndItsAllowList() throws Exception {
        Envelope e = run("""
                import { task } from "@capsule-run/sdk";
                export const main = task({ name: "main", allowedHosts: ["127.0.0.1"] }, async (base: string) => {
                  const r = await fetch(base + "/json");
                  const posted = await fetch(base + "/echo", { method: "POST", body: "payload", headers: { "X-Custom": "yes" } });
                  const missing = await fetch(base + "/nope");
                  return [r.status, r.ok, r.headers.get("x-served-by"), (await r.json()).greeting,
                    posted.status, await posted.text(), missing.status, missing.ok];
                });
                """, base);
        assertThat(e.success()).as(e.toJson()).isTrue();
        assertThat(e.result().toString()).isEqualTo("[200,true,\"test\",\"héllo\",201,\"POST:payload:yes\",404,false]");

        Envelope denied = run("""
                export async function main(base: string) {
                  return (await fetch(base + "/json")).status;
                }
                """, base);
        assertThat(denied.error().type()).as(denied.toJson()).isEqualTo(ErrorType.PERMISSION_DENIED);
        assertThat(denied.error().message()).contains("fetch failed").contains("127.0.0.1");
    }
}
