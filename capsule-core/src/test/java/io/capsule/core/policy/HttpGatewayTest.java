package io.capsule.core.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The JSON-in/JSON-out gateway the guest SDKs call, against a local server. */
class HttpGatewayTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final List<String> seen = new CopyOnWriteArrayList<>();
    private HttpServer server;
    private int port;
    private final HttpGateway gateway = new HttpGateway(AccessPolicy.HttpLimits.DEFAULT);
    /** The names a test resolver was asked for. */
    private final List<String> lookups = new CopyOnWriteArrayList<>();
    /** Holds stalling handlers until the test ends. */
    private final CountDownLatch end = new CountDownLatch(1);
    private final ExecutorService handlers = Executors.newCachedThreadPool();

    @BeforeEach
    void start() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        port = server.getAddress().getPort();
        server.createContext("/", ex -> {
            seen.add(ex.getRequestURI().getPath() + " auth=" + ex.getRequestHeaders().getFirst("Authorization")
                    + " cookie=" + ex.getRequestHeaders().getFirst("Cookie") + " host=" + ex.getRequestHeaders().getFirst("Host"));
            String path = ex.getRequestURI().getPath();
            if (path.equals("/to-localhost")) {
                ex.getResponseHeaders().add("Location", "http://localhost:" + port + "/end");
                ex.sendResponseHeaders(307, -1);
            } else if (path.equals("/to-end")) {
                ex.getResponseHeaders().add("Location", "/end");
                ex.sendResponseHeaders(302, -1);
            } else if (path.equals("/long-header")) {
                ex.getResponseHeaders().add("X-Long", "p".repeat(ex.getRequestURI().getQuery().equals("huge") ? 100_000 : 20_000));
                ex.sendResponseHeaders(204, -1);
            } else if (path.equals("/stall")) {
                ex.sendResponseHeaders(200, 1000);
                ex.getResponseBody().write(new byte[10]);
                ex.getResponseBody().flush();
                await(end);
            } else if (path.equals("/endless")) {
                ex.sendResponseHeaders(200, 0); // chunked, never ending
                try (OutputStream out = ex.getResponseBody()) {
                    while (end.getCount() > 0) {
                        out.write(new byte[8192]);
                    }
                } catch (IOException closedByTheClient) {
                    // what the gateway does once the limit is passed
                }
            } else {
                byte[] b = "done".getBytes(StandardCharsets.UTF_8);
                ex.sendResponseHeaders(200, b.length);
                ex.getResponseBody().write(b);
            }
            ex.close();
        });
        server.setExecutor(handlers);
        server.start();
    }

    @AfterEach
    void stop() {
        end.countDown();
        server.stop(0);
        handlers.shutdownNow();
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A gateway whose resolver answers {@code answers[i]} to its i-th lookup (the last one after that). */
    private HttpGateway resolving(AccessPolicy.HttpLimits limits, String... answers) {
        return new HttpGateway(limits, host -> {
            lookups.add(host);
            if (answers.length == 0) {
                throw new UnknownHostException(host);
            }
            return new InetAddress[] {InetAddress.getByName(answers[Math.min(lookups.size(), answers.length) - 1])};
        });
    }

    private static String text(JsonNode response) {
        return new String(Base64.getDecoder().decode(response.get("body").asText()), StandardCharsets.UTF_8);
    }

    private JsonNode request(String url) throws Exception {
        return JSON.readTree("""
                {"method": "GET", "url": "%s", "headers": {"Authorization": "Bearer t0ken", "Cookie": "s=1", "Host": "evil"}}
                """.formatted(url));
    }

    @Test
    void credentialsDoNotFollowARedirectToAnotherHost() throws Exception {
        HttpGateway.RequestLog log = new HttpGateway.RequestLog(List::of);
        JsonNode out = gateway.handle(request("http://127.0.0.1:" + port + "/to-localhost"),
                List.of("127.0.0.1", "localhost"), Duration.ofSeconds(10), log);
        assertThat(out.get("status").asInt()).isEqualTo(200);
        assertThat(out.get("url").asText()).isEqualTo("http://localhost:" + port + "/end");
        assertThat(new String(Base64.getDecoder().decode(out.get("body").asText()), StandardCharsets.UTF_8)).isEqualTo("done");
        assertThat(seen).containsExactly("/to-localhost auth=Bearer t0ken cookie=s=1 host=127.0.0.1:" + port,
                "/end auth=null cookie=null host=localhost:" + port);
        assertThat(log.entries()).hasSize(2);
        assertThat(log.entries().toString()).doesNotContain("t0ken");
    }

    @Test
    void deniedHostsNeverReachTheNetworkAndAreLogged() throws Exception {
        HttpGateway.RequestLog log = new HttpGateway.RequestLog(() -> List.of("supersecret"));
        assertThatThrownBy(() -> gateway.handle(request("http://localhost:" + port + "/x?k=supersecret"),
                List.of("127.0.0.1"), null, log)).isInstanceOf(PermissionDeniedException.class);
        assertThatThrownBy(() -> gateway.handle(request("file:///etc/passwd"), List.of("*"), null, log))
                .hasMessageContaining("only http and https");
        assertThat(seen).isEmpty();
        assertThat(log.entries()).hasSize(1);
        assertThat(log.entries().get(0).get("url").asText()).isEqualTo("http://localhost:" + port + "/x?k=[redacted]");
        assertThat(log.entries().get(0).get("denied").asBoolean()).isTrue();
    }

    @Test
    void theClientConnectsToTheCheckedAddressNotToASecondLookup() throws Exception {
        // A rebinding name: loopback when checked, then an unroutable address; named exactly, so loopback is allowed.
        HttpGateway rebinding = resolving(AccessPolicy.HttpLimits.DEFAULT, "127.0.0.1", "192.0.2.1");
        HttpGateway.RequestLog log = new HttpGateway.RequestLog(List::of);
        JsonNode out = rebinding.handle(request("http://Rebind.test:" + port + "/hello"), List.of("rebind.test"),
                Duration.ofSeconds(10), log);
        assertThat(out.get("status").asInt()).isEqualTo(200);
        assertThat(text(out)).isEqualTo("done");
        assertThat(lookups).containsExactly("rebind.test");
        // Sent by name: the server sees the name it was asked for, not the address.
        assertThat(seen).containsExactly("/hello auth=Bearer t0ken cookie=s=1 host=rebind.test:" + port);
    }

    @Test
    void eachRedirectHopIsResolvedOnceAndChecked() throws Exception {
        HttpGateway local = resolving(AccessPolicy.HttpLimits.DEFAULT, "127.0.0.1");
        HttpGateway.RequestLog log = new HttpGateway.RequestLog(List::of);
        JsonNode out = local.handle(request("http://hop.test:" + port + "/to-end"), List.of("hop.test"), null, log);
        assertThat(text(out)).isEqualTo("done");
        assertThat(out.get("url").asText()).isEqualTo("http://hop.test:" + port + "/end");
        assertThat(lookups).containsExactly("hop.test", "hop.test");
        assertThat(log.entries()).extracting(e -> e.get("status").asInt()).containsExactly(302, 200);
    }

    @Test
    void aWildcardNameThatResolvesToLoopbackIsDeniedBeforeAnyConnection() throws Exception {
        HttpGateway wild = resolving(AccessPolicy.HttpLimits.DEFAULT, "127.0.0.1");
        HttpGateway.RequestLog log = new HttpGateway.RequestLog(List::of);
        for (List<String> allowed : List.of(List.of("*.test"), List.of("*"))) {
            assertThatThrownBy(() -> wild.handle(request("http://wild.test:" + port + "/hello"), allowed, null, log))
                    .isInstanceOf(PermissionDeniedException.class)
                    .hasMessageContaining("internal address 127.0.0.1");
        }
        assertThat(lookups).containsExactly("wild.test", "wild.test");
        assertThat(seen).isEmpty();
        assertThat(log.entries()).extracting(e -> e.get("denied").asBoolean()).containsExactly(true, true);
    }

    @Test
    void aRedirectToAWildcardNameThatResolvesToLoopbackIsDenied() throws Exception {
        HttpGateway local = resolving(AccessPolicy.HttpLimits.DEFAULT, "127.0.0.1");
        HttpGateway.RequestLog log = new HttpGateway.RequestLog(List::of);
        // 127.0.0.1 is named exactly; the redirect goes to "localhost", allowed only through "*".
        assertThatThrownBy(() -> local.handle(request("http://127.0.0.1:" + port + "/to-localhost"),
                List.of("127.0.0.1", "*"), null, log))
                .isInstanceOf(PermissionDeniedException.class)
                .hasMessageContaining("localhost resolves to the internal address");
        assertThat(lookups).containsExactly("127.0.0.1", "localhost");
        assertThat(seen).hasSize(1);
    }

    @Test
    void aNameThatDoesNotResolveIsAClearRecordedError() throws Exception {
        HttpGateway none = resolving(AccessPolicy.HttpLimits.DEFAULT);
        HttpGateway.RequestLog log = new HttpGateway.RequestLog(List::of);
        assertThatThrownBy(() -> none.handle(request("http://nowhere.test/"), List.of("nowhere.test"), null, log))
                .isInstanceOf(UnknownHostException.class)
                .hasMessage("cannot resolve host nowhere.test");
        assertThat(log.entries().get(0).get("error").asText()).isEqualTo("cannot resolve host nowhere.test");
    }

    @Test
    void theTlsHandshakeNamesTheHostAndGoesToTheCheckedAddress() throws Exception {
        try (ServerSocket tls = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            CompletableFuture<byte[]> hello = CompletableFuture.supplyAsync(() -> {
                try (Socket s = tls.accept()) {
                    s.setSoTimeout(5000);
                    InputStream in = s.getInputStream();
                    ByteArrayOutputStream got = new ByteArrayOutputStream();
                    byte[] buf = new byte[4096];
                    // A ClientHello is a few hundred bytes; its first record is enough.
                    while (got.size() < 200) {
                        int n = in.read(buf);
                        if (n < 0) {
                            break;
                        }
                        got.write(buf, 0, n);
                    }
                    return got.toByteArray();
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            HttpGateway local = resolving(AccessPolicy.HttpLimits.DEFAULT, "127.0.0.1", "192.0.2.1");
            HttpGateway.RequestLog log = new HttpGateway.RequestLog(List::of);
            // The fake server closes after the ClientHello: the handshake fails, after reaching it.
            assertThatThrownBy(() -> local.handle(request("https://tls.test:" + tls.getLocalPort() + "/"),
                    List.of("tls.test"), Duration.ofSeconds(10), log)).isInstanceOf(IOException.class);
            byte[] clientHello = hello.get(10, TimeUnit.SECONDS);
            assertThat(clientHello[0]).as("a TLS handshake record").isEqualTo((byte) 0x16);
            // SNI carries the name in clear text: the TLS route is by name, the connection to the checked address.
            assertThat(new String(clientHello, StandardCharsets.ISO_8859_1)).contains("tls.test");
            assertThat(lookups).containsExactly("tls.test");
        }
    }

    @Test
    void pinnedResolverAnswersOnlyForTheCheckedHost() throws Exception {
        InetAddress checked = InetAddress.getByName("127.0.0.1");
        var pinned = HttpGateway.pinned("a.test", new InetAddress[] {checked});
        assertThat(pinned.resolve("A.test.")).containsExactly(checked);
        assertThatThrownBy(() -> pinned.resolve("b.test")).isInstanceOf(UnknownHostException.class);
        assertThatThrownBy(() -> pinned.resolveCanonicalHostname("a.test")).isInstanceOf(UnknownHostException.class);
    }

    @Test
    void headerInjectionIsRejectedBeforeAnyRequest() throws Exception {
        HttpGateway.RequestLog log = new HttpGateway.RequestLog(List::of);
        String url = "http://127.0.0.1:" + port + "/hello";
        for (String headers : List.of("{\"X-A\\r\\nInjected\": \"1\"}", "{\"X A\": \"1\"}", "[[\"X:A\", \"1\"]]")) {
            JsonNode req = JSON.readTree("{\"url\": \"" + url + "\", \"headers\": " + headers + "}");
            assertThatThrownBy(() -> gateway.handle(req, List.of("127.0.0.1"), null, log))
                    .as(headers).isInstanceOf(IOException.class).hasMessageContaining("not an HTTP token")
                    .hasMessageNotContaining("\r");
        }
        for (String value : List.of("v\\r\\nInjected: 1", "v\\nX: 1", "v\\u0000")) {
            JsonNode req = JSON.readTree("{\"url\": \"" + url + "\", \"headers\": {\"X-Ok\": \"" + value + "\"}}");
            assertThatThrownBy(() -> gateway.handle(req, List.of("127.0.0.1"), null, log))
                    .as(value).isInstanceOf(IOException.class).hasMessageContaining("control characters");
        }
        assertThat(seen).isEmpty();
        assertThat(log.entries()).isEmpty();
    }

    @Test
    void aStalledBodyIsCutAtTheDeadline() throws Exception {
        HttpGateway tight = new HttpGateway(new AccessPolicy.HttpLimits(1 << 20, 10, Duration.ofMillis(500), 5));
        long start = System.nanoTime();
        assertThatThrownBy(() -> tight.handle(request("http://127.0.0.1:" + port + "/stall"), List.of("127.0.0.1"), null,
                new HttpGateway.RequestLog(List::of))).isInstanceOf(IOException.class).hasMessageContaining("timed out");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(2000));
        // The task's own remaining time bounds the request too.
        start = System.nanoTime();
        assertThatThrownBy(() -> gateway.handle(request("http://127.0.0.1:" + port + "/stall"), List.of("127.0.0.1"),
                Duration.ofMillis(300), new HttpGateway.RequestLog(List::of))).hasMessageContaining("timed out");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(2000));
    }

    @Test
    void anEndlessBodyStopsAtTheSizeLimitWithoutBeingDrained() throws Exception {
        HttpGateway small = new HttpGateway(new AccessPolicy.HttpLimits(64 << 10, 10, Duration.ofSeconds(20), 5));
        long start = System.nanoTime();
        assertThatThrownBy(() -> small.handle(request("http://127.0.0.1:" + port + "/endless"), List.of("127.0.0.1"), null,
                new HttpGateway.RequestLog(List::of))).hasMessageContaining("larger than the 65536 byte limit");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
    }

    @Test
    void longResponseHeadersArriveUpToTheLineLimit() throws Exception {
        JsonNode out = gateway.handle(request("http://127.0.0.1:" + port + "/long-header?long"), List.of("127.0.0.1"), null,
                new HttpGateway.RequestLog(List::of));
        assertThat(out.get("status").asInt()).isEqualTo(204);
        assertThat(out.get("headers").toString()).contains("p".repeat(20_000));
        assertThat(text(out)).isEmpty();
        assertThatThrownBy(() -> gateway.handle(request("http://127.0.0.1:" + port + "/long-header?huge"), List.of("127.0.0.1"),
                null, new HttpGateway.RequestLog(List::of))).isInstanceOf(IOException.class);
    }

    @Test
    void userInfoInTheUrlIsNeitherSentNorRecorded() throws Exception {
        HttpGateway.RequestLog log = new HttpGateway.RequestLog(List::of);
        JsonNode req = JSON.readTree("{\"url\": \"http://me:pw@127.0.0.1:" + port + "/hello\"}");
        assertThat(text(gateway.handle(req, List.of("127.0.0.1"), null, log))).isEqualTo("done");
        assertThat(seen).containsExactly("/hello auth=null cookie=null host=127.0.0.1:" + port);
        assertThat(log.entries().toString()).doesNotContain("pw");
    }
}
