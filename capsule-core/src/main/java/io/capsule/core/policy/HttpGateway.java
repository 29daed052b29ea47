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
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.apache.hc.client5.http.DnsResolver;
import org.apache.hc.client5.http.classic.methods.HttpUriRequestBase;
import org.apache.hc.client5.http.config.ConnectionConfig;
import org.apache.hc.client5.http.config.RequestConfig;
import org.apache.hc.client5.http.impl.DefaultSchemePortResolver;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.client5.http.impl.io.BasicHttpClientConnectionManager;
import org.apache.hc.client5.http.impl.io.ManagedHttpClientConnectionFactory;
import org.apache.hc.client5.http.impl.routing.DefaultRoutePlanner;
import org.apache.hc.client5.http.ssl.DefaultClientTlsStrategy;
import org.apache.hc.client5.http.ssl.TlsSocketStrategy;
import org.apache.hc.core5.http.ClassicHttpResponse;
import org.apache.hc.core5.http.Header;
import org.apache.hc.core5.http.HttpEntity;
import org.apache.hc.core5.http.HttpHost;
import org.apache.hc.core5.http.config.Http1Config;
import org.apache.hc.core5.http.config.Lookup;
import org.apache.hc.core5.http.config.RegistryBuilder;
import org.apache.hc.core5.http.io.entity.ByteArrayEntity;
import org.apache.hc.core5.io.CloseMode;
import org.apache.hc.core5.net.URIAuthority;
import org.apache.hc.core5.util.Timeout;

/**
 * Outbound HTTP(S) on behalf of guests, through Apache HttpClient 5 (classic). Runtime-agnostic: guests send
 * a JSON request over their host channel and get a JSON response (see {@link #handle}).
 *
 * <p>Every request and every redirect hop is checked against the task's {@code allowed_hosts}; redirects
 * are followed here, never by the client. For each hop the host name is resolved once and every address
 * must pass the check: a name allowed only through a wildcard ("*", "*.example.com") may not resolve to a
 * loopback, private or link-local address (name it exactly to allow that). The client then connects to
 * exactly those checked addresses: its DNS resolver answers only for that host, with those addresses, so
 * a second lookup cannot send an allowed name to a different host (DNS rebinding). TLS still uses the
 * name for SNI and certificate checks. Each hop has its own client and connection, closed after it; no
 * proxy. Responses are bounded in size and time, requests in number; {@code Authorization}, {@code
 * Cookie} and similar headers are dropped when a redirect leaves the host, and are never recorded.
 */
public final class HttpGateway {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    /** Headers the client sets itself, or that only make sense hop by hop. */
    private static final Set<String> DROPPED = Set.of("host", "connection", "content-length", "expect", "upgrade",
            "keep-alive", "transfer-encoding", "te", "trailer", "proxy-connection");
    private static final Set<String> SECRET = Set.of("authorization", "proxy-authorization", "cookie");

    /** An HTTP token (RFC 9110): what a header name may be made of. */
    private static final Pattern TOKEN = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");
    /**
     * Shared by every hop, made on first use (loading the trust store takes a moment): TLS that trusts
     * what the JVM trusts and verifies the certificate against the host name, and HTTP/1.1 parsing
     * with bounded header lines (64 KiB, over the library's 8 KiB that long real headers exceed) and
     * count (the library's 100).
     */
    private static final class Shared {
        static final Lookup<TlsSocketStrategy> TLS = RegistryBuilder.<TlsSocketStrategy>create()
                .register("https", DefaultClientTlsStrategy.createDefault()).build();
        static final ManagedHttpClientConnectionFactory CONNECTIONS = ManagedHttpClientConnectionFactory.builder()
                .http1Config(Http1Config.custom().setMaxLineLength(64 << 10).setMaxHeaderCount(100).build())
                .build();
    }
    /**
     * Runs lookups and exchanges, so that the guest's thread waits with the deadline and stays
     * interruptible while a blocking socket read does not. Threads end after a minute unused.
     */
    private static final ExecutorService WORKERS = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "capsule-http");
        t.setDaemon(true);
        return t;
    });

    private final AccessPolicy.HttpLimits limits;
    private final Resolver resolver;

    /** How a host name becomes addresses: the system's resolver, or a test's. */
    @FunctionalInterface
    interface Resolver {
        InetAddress[] resolve(String host) throws UnknownHostException;
    }

    public HttpGateway(AccessPolicy.HttpLimits limits) {
        this(limits, InetAddress::getAllByName);
    }

    HttpGateway(AccessPolicy.HttpLimits limits, Resolver resolver) {
        this.limits = limits;
        this.resolver = resolver;
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
     * @throws IOException for bad requests, network failures, timeouts and responses over the size limit
     */
    public JsonNode handle(JsonNode request, List<String> allowedHosts, Duration remaining, RequestLog log)
            throws IOException, InterruptedException {
        String method = request.path("method").asText("GET").toUpperCase(Locale.ROOT);
        if (!method.matches("[A-Z]{1,20}")) {
            throw new IOException("bad HTTP method " + method);
        }
        if (method.equals("CONNECT")) {
            throw new IOException("HTTP method CONNECT is not supported");
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
                validateHeader(h[0], h[1]);
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
            InetAddress[] addresses = check(method, url, allowedHosts, deadline, log);
            try (Exchange exchange = new Exchange(method, url, addresses, headers, body, deadline)) {
                ClassicHttpResponse response;
                try {
                    response = await(exchange::send, exchange::close, deadline, "HTTP request timed out");
                } catch (IOException e) {
                    log.record(method, url, null, null, e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
                    throw e;
                }
                int status = response.getCode();
                log.record(method, url, status, null, null);
                Header location = response.getFirstHeader("Location");
                if (status / 100 == 3 && status != 304 && location != null && hop < limits.maxRedirects()) {
                    URI next;
                    try {
                        next = parse(url.resolve(location.getValue().trim()).toString());
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
                HttpEntity entity = response.getEntity();
                byte[] data = entity == null ? new byte[0]
                        : await(() -> read(entity), exchange::close, deadline, "HTTP response timed out");
                ObjectNode out = F.objectNode();
                out.put("status", status);
                out.put("url", url.toString());
                ArrayNode hs = out.putArray("headers");
                for (Header h : response.getHeaders()) {
                    hs.addArray().add(h.getName()).add(h.getValue());
                }
                out.put("body", Base64.getEncoder().encodeToString(data));
                return out;
            }
        }
    }

    /** Rejects what would let a guest write its own header lines (CR, LF) or malformed ones. */
    private static void validateHeader(String name, String value) throws IOException {
        if (!TOKEN.matcher(name).matches()) {
            throw new IOException("bad header name \"" + name.replaceAll("\\p{Cntrl}", "?") + "\": not an HTTP token");
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                throw new IOException("bad value for header " + name + ": control characters (such as CR and LF) are not allowed");
            }
            if (c > 0xff) {
                throw new IOException("bad value for header " + name + ": only Latin-1 characters are allowed");
            }
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

    /**
     * Checks the host against {@code allowed_hosts}, resolves it (once for this hop) and checks every
     * address; returns the addresses the hop may connect to.
     */
    private InetAddress[] check(String method, URI url, List<String> allowedHosts, long deadline, RequestLog log)
            throws IOException, InterruptedException {
        String host = HostPatterns.normalizeHost(url.getHost());
        String pattern = HostPatterns.match(allowedHosts, host, port(url));
        if (pattern == null) {
            String reason = "host " + host + " is not in allowed_hosts";
            log.record(method, url, null, reason, null);
            throw new PermissionDeniedException("capsule: request to " + host + " denied: " + reason
                    + (allowedHosts.isEmpty() ? " (the task allows no hosts)" : " " + allowedHosts));
        }
        InetAddress[] addresses;
        try {
            // A lookup that hangs must not hold the task past its deadline either.
            addresses = await(() -> resolver.resolve(host), () -> { }, deadline, "HTTP request timed out");
            if (addresses == null || addresses.length == 0) {
                throw new UnknownHostException(host);
            }
        } catch (IOException e) {
            String error = e instanceof UnknownHostException ? "cannot resolve host " + host : e.getMessage();
            log.record(method, url, null, null, error);
            throw e instanceof UnknownHostException ? new UnknownHostException(error) : e;
        }
        if (HostPatterns.isWildcard(pattern)) {
            for (InetAddress a : addresses) {
                if (internal(a)) {
                    String reason = "host " + host + " resolves to the internal address " + a.getHostAddress()
                            + ", which a wildcard in allowed_hosts does not cover (name the host exactly)";
                    log.record(method, url, null, reason, null);
                    throw new PermissionDeniedException("capsule: request to " + host + " denied: " + reason);
                }
            }
        }
        return addresses.clone();
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

    /**
     * A resolver that answers only for the checked host, with the checked addresses: the client's own
     * lookup, so what was checked is what is connected to.
     */
    static DnsResolver pinned(String host, InetAddress[] addresses) {
        InetAddress[] checked = addresses.clone();
        return new DnsResolver() {
            @Override
            public InetAddress[] resolve(String name) throws UnknownHostException {
                if (!HostPatterns.normalizeHost(name).equals(host)) {
                    throw new UnknownHostException(name + " is not the host that was checked (" + host + ")");
                }
                return checked.clone();
            }

            @Override
            public String resolveCanonicalHostname(String name) throws UnknownHostException {
                throw new UnknownHostException("canonical names are not looked up");
            }
        };
    }

    /**
     * One hop: its own client and connection manager (one connection, never pooled or reused, so no
     * connection or DNS answer outlives its check), closed at once after it, which also aborts it.
     */
    private final class Exchange implements AutoCloseable {
        private final CloseableHttpClient client;
        private final HttpHost target;
        private final HttpUriRequestBase request;
        private final long deadline;

        Exchange(String method, URI url, InetAddress[] addresses, List<String[]> headers, byte[] body, long deadline) {
            this.deadline = deadline;
            // A zero timeout would mean "none": every phase gets at least a millisecond, and the deadline.
            Timeout timeout = Timeout.ofMilliseconds(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            String host = HostPatterns.normalizeHost(url.getHost());
            BasicHttpClientConnectionManager connections = BasicHttpClientConnectionManager.create(
                    DefaultSchemePortResolver.INSTANCE, pinned(host, addresses), Shared.TLS, Shared.CONNECTIONS);
            connections.setConnectionConfig(ConnectionConfig.custom().setConnectTimeout(timeout).setSocketTimeout(timeout).build());
            client = HttpClients.custom()
                    .setConnectionManager(connections)
                    .setRoutePlanner(new DefaultRoutePlanner(DefaultSchemePortResolver.INSTANCE)) // never a proxy
                    .setConnectionReuseStrategy((req, res, context) -> false)
                    .disableRedirectHandling()
                    .disableAutomaticRetries()
                    .disableCookieManagement()
                    .disableContentCompression()
                    .disableAuthCaching()
                    .setDefaultRequestConfig(RequestConfig.custom()
                            .setResponseTimeout(timeout)
                            .setAuthenticationEnabled(false)
                            .setProtocolUpgradeEnabled(false)
                            .build())
                    .build();
            // The route's target is the name: TLS sends it as SNI and verifies the certificate against it.
            target = new HttpHost(url.getScheme().toLowerCase(Locale.ROOT), host, port(url));
            request = new HttpUriRequestBase(method, url);
            request.setAuthority(new URIAuthority(host, url.getPort())); // no user info
            for (String[] h : headers) {
                request.addHeader(h[0], h[1]);
            }
            if (body != null) {
                request.setEntity(new ByteArrayEntity(body, null));
            } else if (method.equals("POST") || method.equals("PUT") || method.equals("PATCH")) {
                request.setEntity(new ByteArrayEntity(new byte[0], null)); // Content-Length: 0, as servers expect
            }
        }

        ClassicHttpResponse send() throws IOException {
            if (deadline - System.nanoTime() <= 0) {
                throw new SocketTimeoutException("HTTP request timed out");
            }
            return client.executeOpen(target, request, null);
        }

        /** Closes the connection at once, never draining what is left of a response. */
        @Override
        public void close() {
            request.cancel();
            client.close(CloseMode.IMMEDIATE);
        }
    }

    /**
     * Runs {@code work} on a worker and waits until the deadline; past it, or when this thread is
     * interrupted, {@code abort} ends the work (closing its connection) and the wait ends.
     */
    private static <T> T await(Callable<T> work, Runnable abort, long deadline, String timeoutMessage)
            throws IOException, InterruptedException {
        Future<T> f = WORKERS.submit(work);
        try {
            return f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            abort.run();
            f.cancel(true);
            throw new SocketTimeoutException(timeoutMessage);
        } catch (InterruptedException e) {
            abort.run();
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

    /** Reads the body up to the size limit; the caller's deadline closes the connection if it stalls. */
    private byte[] read(HttpEntity entity) throws IOException {
        InputStream in = entity.getContent();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[64 << 10];
        int n;
        // Not closed here: closing drains the rest of the response; the exchange closes the connection instead.
        while ((n = in.read(buf)) >= 0) {
            if (out.size() + (long) n > limits.maxResponseBytes()) {
                throw new IOException("response larger than the " + limits.maxResponseBytes() + " byte limit");
            }
            out.write(buf, 0, n);
        }
        return out.toByteArray();
    }
}
