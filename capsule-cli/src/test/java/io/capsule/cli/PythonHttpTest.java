package io.capsule.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import io.capsule.core.CapsuleEngine;
import io.capsule.core.Envelope;
import io.capsule.core.ErrorType;
import io.capsule.core.TaskRequest;
import io.capsule.core.policy.AccessPolicy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** HTTP from Python tasks through the host, against a local server on 127.0.0.1. */
class PythonHttpTest {
    private static CapsuleEngine engine;
    private static HttpServer server;
    private static String base;
    /** What the server saw: "METHOD path authorization-header". */
    private static final List<String> seen = new CopyOnWriteArrayList<>();

    @TempDir
    Path project;

    @BeforeAll
    static void start() throws IOException {
        engine = CapsuleEngine.builder().build();
        server = TestHttp.start(ex -> {
            String path = ex.getRequestURI().getPath();
            seen.add(ex.getRequestMethod() + " " + path + " " + ex.getRequestHeaders().getFirst("Authorization"));
            switch (path) {
                case "/hello" -> TestHttp.reply(ex, 200, "hello from 127.0.0.1");
                case "/echo" -> TestHttp.reply(ex, 200, ex.getRequestMethod() + ":" + new String(ex.getRequestBody().readAllBytes(),
                        StandardCharsets.UTF_8) + ":" + ex.getRequestHeaders().getFirst("X-Custom"));
                case "/redirect-same" -> TestHttp.redirect(ex, "/hello");
                case "/redirect-out" -> TestHttp.redirect(ex, "http://localhost:" + ex.getLocalAddress().getPort() + "/hello");
                case "/redirect-loop" -> TestHttp.redirect(ex, "/redirect-loop");
                case "/big" -> TestHttp.reply(ex, 200, "x".repeat(3 << 20));
                case "/slow" -> {
                    try {
                        Thread.sleep(3000);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    TestHttp.reply(ex, 200, "late");
                }
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

    private Envelope run(String source, AccessPolicy access, Map<String, String> env) throws Exception {
        Path main = project.resolve("main.py");
        Files.writeString(main, source);
        return engine.run(TaskRequest.file(main).args(List.of(base)).access(access).hostEnvironment(env).build());
    }

    @Test
    void requestsAndRedirectsRoundTripAndAreRecordedWithoutSecrets() throws Exception {
        seen.clear();
        Envelope e = run("""
                import os, urllib.request, urllib.error
                from capsule import task

                @task(name="main", allowed_hosts=["127.0.0.1"], env_variables=["API_TOKEN"])
                def main(base):
                    token = os.environ["API_TOKEN"]
                    with urllib.request.urlopen(base + "/hello?key=" + token) as r:
                        hello = {"status": r.status, "body": r.read().decode(), "header": r.headers["X-Served-By"]}
                    req = urllib.request.Request(base + "/echo", data=b"payload", method="POST",
                                                 headers={"Authorization": "Bearer " + token, "X-Custom": "yes"})
                    echo = urllib.request.urlopen(req).read().decode()
                    with urllib.request.urlopen(base + "/redirect-same") as r:
                        redirected = {"url": r.geturl(), "body": r.read().decode()}
                    try:
                        urllib.request.urlopen(base + "/missing")
                        missing = "no error"
                    except urllib.error.HTTPError as err:
                        missing = err.code
                    return {"hello": hello, "echo": echo, "redirected": redirected, "missing": missing}
                """, AccessPolicy.DEFAULT, Map.of("API_TOKEN", "tok-123456789"));
        assertThat(e.success()).as(e.toJson()).isTrue();
        JsonNode r = e.result();
        assertThat(r.get("hello").get("status").asInt()).isEqualTo(200);
        assertThat(r.get("hello").get("body").asText()).isEqualTo("hello from 127.0.0.1");
        assertThat(r.get("hello").get("header").asText()).isEqualTo("test");
        assertThat(r.get("echo").asText()).isEqualTo("POST:payload:yes");
        assertThat(r.get("redirected").get("url").asText()).isEqualTo(base + "/hello");
        assertThat(r.get("redirected").get("body").asText()).isEqualTo("hello from 127.0.0.1");
        assertThat(r.get("missing").asInt()).isEqualTo(404);
        assertThat(seen).contains("POST /echo Bearer tok-123456789");

        List<JsonNode> requests = e.execution().hostRequests();
        assertThat(requests).hasSize(5);
        assertThat(requests.get(0).get("url").asText()).isEqualTo(base + "/hello?key=[redacted]");
        assertThat(requests.get(1).get("method").asText()).isEqualTo("POST");
        assertThat(requests.get(2).get("status").asInt()).isEqualTo(302);
        assertThat(requests.get(3).get("url").asText()).isEqualTo(base + "/hello");
        assertThat(requests.get(4).get("status").asInt()).isEqualTo(404);
        assertThat(e.toJson()).doesNotContain("tok-123456789").doesNotContain("Bearer");
    }

    @Test
    void unlistedHostsAndRedirectsToThemAreDenied() throws Exception {
        seen.clear();
        Envelope e = run("""
                import urllib.request, urllib.error
                from capsule import task

                def fetch(url):
                    try:
                        return urllib.request.urlopen(url).read().decode()
                    except urllib.error.URLError as err:
                        return "%s: %s" % (type(err.reason).__name__, err.reason)

                @task(name="main", allowed_hosts=["127.0.0.1"])
                def main(base):
                    return {"other": fetch("http://example.com/"), "by_name": fetch(base.replace("127.0.0.1", "localhost")),
                            "redirect_out": fetch(base + "/redirect-out"), "socket": raw(base), "http_client": direct(base)}

                def raw(base):
                    import socket
                    try:
                        socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])), timeout=1)
                        return "connected"
                    except Exception as err:
                        return type(err).__name__

                def direct(base):
                    import http.client
                    try:
                        conn = http.client.HTTPConnection(base.split("//")[1], timeout=1)
                        conn.request("GET", "/hello")
                        return conn.getresponse().status
                    except Exception as err:
                        return type(err).__name__
                """, AccessPolicy.DEFAULT, Map.of());
        assertThat(e.success()).as(e.toJson()).isTrue();
        assertThat(e.result().get("other").asText()).startsWith("PermissionError").contains("example.com is not in allowed_hosts");
        assertThat(e.result().get("by_name").asText()).startsWith("PermissionError").contains("localhost");
        assertThat(e.result().get("redirect_out").asText()).startsWith("PermissionError").contains("localhost");
        assertThat(e.result().get("socket").asText()).isNotEqualTo("connected");
        assertThat(e.result().get("http_client").isTextual()).as(e.result().toString()).isTrue();
        assertThat(seen).containsExactly("GET /redirect-out null"); // the redirect target and raw sockets never arrived
        List<JsonNode> requests = e.execution().hostRequests();
        assertThat(requests).extracting(n -> n.path("denied").asBoolean()).containsExactly(true, true, false, true);

        Envelope uncaught = run("""
                import urllib.request
                from capsule import task

                @task(name="main")
                def main(base):
                    return urllib.request.urlopen(base + "/hello").read().decode()
                """, AccessPolicy.DEFAULT, Map.of());
        assertThat(uncaught.error().type()).as(uncaught.toJson()).isEqualTo(ErrorType.PERMISSION_DENIED);
        assertThat(uncaught.error().message()).contains("the task allows no hosts");
    }

    @Test
    void wildcardsDoNotReachInternalAddressesAndLimitsHold() throws Exception {
        Envelope wildcard = run("""
                import urllib.request
                from capsule import task

                @task(name="main", allowed_hosts=["*"])
                def main(base):
                    return urllib.request.urlopen(base + "/hello").read().decode()
                """, AccessPolicy.DEFAULT, Map.of());
        assertThat(wildcard.error().type()).as(wildcard.toJson()).isEqualTo(ErrorType.PERMISSION_DENIED);
        assertThat(wildcard.error().message()).contains("internal address");

        AccessPolicy tight = AccessPolicy.DEFAULT.withHttp(new AccessPolicy.HttpLimits(1 << 20, 5, Duration.ofSeconds(1), 3));
        Envelope limited = run("""
                import urllib.request, urllib.error
                from capsule import task

                def fetch(url):
                    try:
                        return len(urllib.request.urlopen(url).read())
                    except urllib.error.URLError as err:
                        return str(err.reason)

                @task(name="main", allowed_hosts=["127.0.0.1"])
                def main(base):
                    return [fetch(base + "/big"), fetch(base + "/slow"), fetch(base + "/redirect-loop"), fetch(base + "/hello")]
                """, tight, Map.of());
        assertThat(limited.success()).as(limited.toJson()).isTrue();
        assertThat(limited.result().get(0).asText()).contains("larger than the 1048576 byte limit");
        assertThat(limited.result().get(1).asText()).contains("timed out");
        assertThat(limited.result().get(2).asText()).contains("at most 5 HTTP requests");
        assertThat(limited.result().get(3).asText()).contains("at most 5 HTTP requests");
        assertThat(limited.execution().durationMs()).isLessThan(2900); // the slow server was not waited for

        Envelope deadline = run("""
                import urllib.request
                from capsule import task

                @task(name="main", allowed_hosts=["127.0.0.1"], timeout="500ms")
                def main(base):
                    return urllib.request.urlopen(base + "/slow").read().decode()
                """, AccessPolicy.DEFAULT, Map.of());
        assertThat(deadline.error().type()).as(deadline.toJson()).isEqualTo(ErrorType.TIMEOUT);
        assertThat(deadline.execution().durationMs()).isLessThan(1500);
    }
}
