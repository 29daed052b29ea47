package io.capsule.core.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * Outbound HTTP(S) on behalf of guests, through Java's HTTP client. Runtime-agnostic: guests send a JSON
 * request over their host channel and get a JSON response (see {@link #handle}).
 *
 * <p>Every request and every redirect hop is checked against the task's {@code allowed_hosts}; redirects
 * are followed here, never by the client. The host name is resolved before the check and every address
 * must pass it: a name allowed only through a wildcard ("*", "*.example.com") may not resolve to a
 * loopback, private or link-local address (name it exactly to allow that). The client then connects by
 * name and gets the same answer from the JVM's DNS cache (30 s by default). Responses are bounded in
 * size and time, requests in number; {@code Authorization}, {@code Cookie} and similar headers are
 * dropped when a redirect leaves the host, and are never recorded.
 */
public final class HttpGateway {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    /** Headers the client sets itself, or that only make sense hop by hop. */
    private static final Set<String> DROPPED = Set.of("host", "connection", "content-length", "expect", "upgrade",
            "keep-alive", "transfer-encoding", "te", "trailer", "proxy-connection");
    private static final Set<String> SECRET = Set.of("authorization", "proxy-authorization", "cookie");

    private final AccessPolicy.HttpLimits limits;

    /**
     * One client for the process: each client owns a selector thread until it is collected, so one per
     * run would pile threads up in a long-lived host. Redirects are ours; no proxy, so the checked host
     * is the one connected to; each request's own deadline bounds connecting too.
     */
    private static final class Client {
        static final HttpClient INSTANCE = HttpClient.newBuilder()
                .followRedirects(HttpClient.Redirect.NEVER)
                .proxy(HttpClient.Builder.NO_PROXY)
                .build();
    }

    public HttpGateway(AccessPolicy.HttpLimits limits) {
        this.limits = limits;
    }

    /** What one attempt has done so far: its requests, recorded for {@code execution.host_requests}. */
    public static final class RequestLog {
        private final List<JsonNode> entries = new ArrayList<>();
        private final Supplier<? extends Collection<String>> secrets;
        private int count;

        /** @param secrets values never to be written (the task's environment values, read when recording) */
        public RequestLog(Supplier<? extends Collection<String>> secrets) {
            this.secrets = secrets;
        }

        synchronized int next() {
            return ++count;
        }

        synchronized void record(String method, URI url, Integer status, String denied, String error) {
            ObjectNode e = F.objectNode();
            e.put("method", method);
            e.put("url", redact(safeUrl(url)));
            if (status != null) {
                e.put("status", status);
            }
            if (denied != null) {
                e.put("denied", true);
                e.put("reason", redact(denied));
            }
            if (error != null) {
                e.put("error", redact(error));
            }
            entries.add(e);
        }

        public synchronized List<JsonNode> entries() {
            return List.copyOf(entries);
        }

        /** The URL without user name or password. */
        private static String safeUrl(URI url) {
            if (url.getRawUserInfo() == null) {
                return url.toString();
            }
            try {
                return new URI(url.getScheme(), null, url.getHost(), url.getPort(), url.getPath(), url.getQuery(), null).toString();
            } catch (URISyntaxException e) {
                return url.getScheme() + "://" + url.getHost();
            }
        }

        private String redact(String s) {
            for (String secret : secrets.get()) {
                // Very short values would redact half of every URL; they are not secrets worth the name.
                if (secret.length() >= 4) {
                    s = s.replace(secret, "[redacted]");
                }
            }
            return s;
        }
    }

    /**
     * Performs a guest's request.
     *
     * @param request {@code {"method": "GET", "url": "https://...", "headers": [["Name", "value"], ...]
     *     (or {"Name": "value"}), "body": base64 or null}}
     * @param allowedHosts the task's {@code allowed_hosts}
     * @param remaining time left before the task's deadline, or null when it has none
     * @return {@code {"status": 200, "url": final url after redirects, "headers": [[name, value], ...],
     *     "body": base64}}
     * @throws PermissionDeniedException when a host (first or after a redirect) is not allowed, or the
     *     request budget is spent
     * @throws IOException for network failures, timeouts and responses over the size limit
     */
    public JsonNode handle(JsonNode request, List<String> allowedHosts, Duration remaining, RequestLog log)
            throws IOException, InterruptedException {
        String method = request.path("method").asText("GET").toUpperCase(Locale.ROOT);
        if (!method.matches("[A-Z]{1,20}")) {
            throw new IOException("bad HTTP method " + method);
        }
        URI url = parse(request.path("url").asText(""));
        List<String[]> headers = new ArrayList<>();
        JsonNode given = request.path("headers");
        List<String[]> pairs = new ArrayList<>();
        if (given.isObject()) {
            given.fields().forEachRemaining(f -> pairs.add(new String[] {f.getKey(), f.getValue().asText()}));
        } else {
            given.forEach(h -> pairs.add(new String[] {h.path(0).asText(), h.path(1).asText()}));
        }
        for (String[] h : pairs) {
            if (!h[0].isEmpty() && !DROPPED.contains(h[0].toLowerCase(Locale.ROOT))) {
                headers.add(h);
            }
        }
        byte[] body = request.path("body").isTextual() ? Base64.getDecoder().decode(request.path("body").asText()) : null;
        long deadline = System.nanoTime() + Math.min(limits.requestTimeout().toNanos(),
                remaining == null ? Long.MAX_VALUE : Math.max(0, remaining.toNanos()));
        for (int hop = 0; ; hop++) {
            if (log.next() > limits.maxRequests()) {
                log.record(method, url, null, "request limit reached", null);
                throw new PermissionDeniedException("capsule: this task may make at most " + limits.maxRequests()
                        + " HTTP requests");
            }
            check(method, url, allowedHosts, log);
            HttpResponse<InputStream> response;
            try {
                response = send(method, url, headers, body, deadline);
            } catch (IOException e) {
                log.record(method, url, null, null, e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
                throw e;
            }
            int status = response.statusCode();
            log.record(method, url, status, null, null);
            String location = response.headers().firstValue("location").orElse(null);
            if (status / 100 == 3 && status != 304 && location != null && hop < limits.maxRedirects()) {
                response.body().close();
                URI next;
                try {
                    next = parse(url.resolve(location.trim()).toString());
                } catch (IOException | IllegalArgumentException e) {
                    log.record(method, url, null, null, "bad redirect: " + e.getMessage());
                    throw new IOException("bad redirect from " + url.getHost() + ": " + e.getMessage());
                }
                if (!HostPatterns.normalizeHost(next.getHost()).equals(HostPatterns.normalizeHost(url.getHost()))) {
                    headers.removeIf(h -> SECRET.contains(h[0].toLowerCase(Locale.ROOT)));
                }
                if (status == 303 || ((status == 301 || status == 302) && method.equals("POST"))) {
                    method = "GET";
                    body = null;
                }
                url = next;
                continue;
            }
            byte[] data = read(response.body(), deadline);
            ObjectNode out = F.objectNode();
            out.put("status", status);
            out.put("url", url.toString());
            ArrayNode hs = out.putArray("headers");
            for (Map.Entry<String, List<String>> e : response.headers().map().entrySet()) {
                if (e.getKey().startsWith(":")) {
                    continue; // HTTP/2 pseudo-headers
                }
                for (String v : e.getValue()) {
                    hs.addArray().add(e.getKey()).add(v);
                }
            }
            out.put("body", Base64.getEncoder().encodeToString(data));
            return out;
        }
    }

    private static URI parse(String text) throws IOException {
        URI url;
        try {
            url = new URI(text);
        } catch (URISyntaxException e) {
            throw new IOException("bad URL " + text + ": " + e.getReason());
        }
        String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new IOException("only http and https URLs are supported, got " + text);
        }
        if (url.getHost() == null) {
            throw new IOException("URL has no host: " + text);
        }
        return url;
    }

    private static int port(URI url) {
        return url.getPort() >= 0 ? url.getPort() : url.getScheme().equalsIgnoreCase("https") ? 443 : 80;
    }

    private static void check(String method, URI url, List<String> allowedHosts, RequestLog log) {
        String host = HostPatterns.normalizeHost(url.getHost());
        String pattern = HostPatterns.match(allowedHosts, host, port(url));
        if (pattern == null) {
            String reason = "host " + host + " is not in allowed_hosts";
            log.record(method, url, null, reason, null);
            throw new PermissionDeniedException("capsule: request to " + host + " denied: " + reason
                    + (allowedHosts.isEmpty() ? " (the task allows no hosts)" : " " + allowedHosts));
        }
        if (HostPatterns.isWildcard(pattern)) {
            InetAddress[] addresses;
            try {
                addresses = InetAddress.getAllByName(host);
            } catch (UnknownHostException e) {
                return; // the client fails the same way, with the same cached answer
            }
            for (InetAddress a : addresses) {
                if (internal(a)) {
                    String reason = "host " + host + " resolves to the internal address " + a.getHostAddress()
                            + ", which a wildcard in allowed_hosts does not cover (name the host exactly)";
                    log.record(method, url, null, reason, null);
                    throw new PermissionDeniedException("capsule: request to " + host + " denied: " + reason);
                }
            }
        }
    }

    static boolean internal(InetAddress a) {
        if (a.isLoopbackAddress() || a.isAnyLocalAddress() || a.isLinkLocalAddress() || a.isSiteLocalAddress()
                || a.isMulticastAddress()) {
            return true;
        }
        byte[] b = a.getAddress();
        if (a instanceof Inet6Address) {
            return (b[0] & 0xfe) == 0xfc; // unique local fc00::/7
        }
        return (b[0] & 0xff) == 100 && (b[1] & 0xc0) == 64; // carrier-grade NAT 100.64.0.0/10
    }

    private HttpResponse<InputStream> send(String method, URI url, List<String[]> headers, byte[] body, long deadline)
            throws IOException, InterruptedException {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
            throw new HttpTimeoutException("HTTP request timed out");
        }
        HttpRequest.Builder b = HttpRequest.newBuilder(url)
                .timeout(Duration.ofNanos(left))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
        for (String[] h : headers) {
            try {
                b.header(h[0], h[1]);
            } catch (IllegalArgumentException e) {
                throw new IOException("bad header " + h[0] + ": " + e.getMessage());
            }
        }
        CompletableFuture<HttpResponse<InputStream>> f = Client.INSTANCE.sendAsync(b.build(), HttpResponse.BodyHandlers.ofInputStream());
        try {
            return f.get(left, TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            f.cancel(true);
            throw new HttpTimeoutException("HTTP request timed out");
        } catch (InterruptedException e) {
            f.cancel(true);
            throw e;
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) {
                throw io;
            }
            throw new IOException(String.valueOf(c), c);
        }
    }

    /** Reads the body up to the size limit; a timer closes the stream at the deadline so a stalled server cannot hold the task. */
    private byte[] read(InputStream in, long deadline) throws IOException {
        long left = deadline - System.nanoTime();
        boolean[] expired = {false};
        CompletableFuture.delayedExecutor(Math.max(0, left), TimeUnit.NANOSECONDS).execute(() -> {
            expired[0] = true;
            try {
                in.close();
            } catch (IOException ignored) {
                // closing is all the timer can do
            }
        });
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[64 << 10];
        try (in) {
            int n;
            while ((n = in.read(buf)) >= 0) {
                if (out.size() + (long) n > limits.maxResponseBytes()) {
                    throw new IOException("response larger than the " + limits.maxResponseBytes() + " byte limit");
                }
                out.write(buf, 0, n);
            }
        } catch (IOException e) {
            if (expired[0]) {
                throw new HttpTimeoutException("HTTP response timed out");
            }
            throw e;
        }
        return out.toByteArray();
    }
}
