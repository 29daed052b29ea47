package io.capsule.core.policy;

import java.util.List;
import java.util.Locale;

/**
 * {@code allowed_hosts} entries: an exact name ("api.example.com"), its subdomains ("*.example.com",
 * which does not match example.com itself), or every host ("*"); any of them may end in ":port" to allow
 * that port only.
 */
public final class HostPatterns {
    private HostPatterns() {}

    /** Lower case, no trailing dot, no IPv6 brackets. */
    public static String normalizeHost(String host) {
        String h = host.toLowerCase(Locale.ROOT);
        if (h.startsWith("[") && h.endsWith("]")) {
            h = h.substring(1, h.length() - 1);
        }
        while (h.endsWith(".")) {
            h = h.substring(0, h.length() - 1);
        }
        return h;
    }

    /** The first pattern that allows host:port, or null. */
    public static String match(List<String> patterns, String host, int port) {
        String h = normalizeHost(host);
        for (String p : patterns) {
            if (matches(p, h, port)) {
                return p;
            }
        }
        return null;
    }

    /** Whether the pattern allows anything beyond one exact name ("*" and "*.example.com" do). */
    public static boolean isWildcard(String pattern) {
        return pattern.startsWith("*");
    }

    static boolean matches(String pattern, String host, int port) {
        String name = name(pattern);
        Integer p = port(pattern);
        if (p != null && p != port) {
            return false;
        }
        if (name.equals("*")) {
            return true;
        }
        if (name.startsWith("*.")) {
            return host.endsWith(name.substring(1)) && host.length() > name.length() - 1;
        }
        return host.equals(name);
    }

    /** Whether every host that {@code child} allows is also allowed by one of {@code parents}. */
    public static boolean covered(List<String> parents, String child) {
        for (String parent : parents) {
            if (covers(parent, child)) {
                return true;
            }
        }
        return false;
    }

    static boolean covers(String parent, String child) {
        Integer pp = port(parent);
        if (pp != null && !pp.equals(port(child))) {
            return false;
        }
        String pn = name(parent);
        String cn = name(child);
        if (pn.equals("*")) {
            return true;
        }
        if (cn.equals("*")) {
            return false;
        }
        if (cn.startsWith("*.")) {
            return pn.startsWith("*.") && (cn.equals(pn) || cn.endsWith(pn.substring(1)));
        }
        return matches(pn, cn, -1);
    }

    private static String name(String pattern) {
        int colon = pattern.lastIndexOf(':');
        return normalizeHost(colon > 0 && pattern.indexOf(':') == colon ? pattern.substring(0, colon) : pattern);
    }

    private static Integer port(String pattern) {
        int colon = pattern.lastIndexOf(':');
        if (colon <= 0 || pattern.indexOf(':') != colon) {
            return null;
        }
        return Integer.valueOf(pattern.substring(colon + 1));
    }
}
