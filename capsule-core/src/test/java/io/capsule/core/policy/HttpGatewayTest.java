package io.capsule.core.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
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

    @BeforeEach
    void start() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        port = server.getAddress().getPort();
        server.createContext("/", ex -> {
            seen.add(ex.getRequestURI().getPath() + " auth=" + ex.getRequestHeaders().getFirst("Authorization")
                    + " cookie=" + ex.getRequestHeaders().getFirst("Cookie"));
            if (ex.getRequestURI().getPath().equals("/to-localhost")) {
                ex.getResponseHeaders().add("Location", "http://localhost:" + port + "/end");
                ex.sendResponseHeaders(307, -1);
            } else {
                byte[] b = "done".getBytes(StandardCharsets.UTF_8);
                ex.sendResponseHeaders(200, b.length);
                ex.getResponseBody().write(b);
            }
            ex.close();
        });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
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
        assertThat(seen).containsExactly("/to-localhost auth=Bearer t0ken cookie=s=1", "/end auth=null cookie=null");
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
}
