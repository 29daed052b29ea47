package io.capsule.core.policy;

import io.capsule.core.options.FileGrant;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The host's ceiling on what tasks may reach: directories, hosts, environment variables and how much
 * HTTP they may do. Tasks ask for grants in their options; a grant beyond this ceiling (or, for a
 * sub-task, beyond its parent's grants) is refused with {@code permission_denied}.
 *
 * @param mounts directories the host itself makes visible to every task of a run ({@code --mount})
 * @param maxFiles the project directories tasks may ask for (and anything below them), or null for any
 *     directory inside the project
 * @param maxHosts the host patterns tasks may ask for, or null for any
 * @param maxEnv the environment variable names tasks may ask for, or null for any
 * @param http bounds on each task's HTTP use
 */
public record AccessPolicy(
        List<MountTable.Mount> mounts, List<FileGrant> maxFiles, List<String> maxHosts, Set<String> maxEnv, HttpLimits http) {

    /**
     * @param maxResponseBytes largest response body a task may receive
     * @param maxRequests requests (redirect hops included) one attempt may make
     * @param requestTimeout longest one request may take (also bounded by the task's own deadline)
     * @param maxRedirects redirects followed per request
     */
    public record HttpLimits(long maxResponseBytes, int maxRequests, Duration requestTimeout, int maxRedirects) {
        public static final HttpLimits DEFAULT = new HttpLimits(10L << 20, 100, Duration.ofSeconds(30), 5);

        public HttpLimits {
            if (maxResponseBytes <= 0 || maxRequests < 0 || requestTimeout.isNegative() || requestTimeout.isZero()
                    || maxRedirects < 0) {
                throw new IllegalArgumentException("HTTP limits must be positive");
            }
        }
    }

    /** What the spec allows: project directories, any host, any variable, but only those a task names. */
    public static final AccessPolicy DEFAULT = new AccessPolicy(List.of(), null, null, null, HttpLimits.DEFAULT);

    public AccessPolicy {
        mounts = List.copyOf(mounts);
        maxFiles = maxFiles == null ? null : List.copyOf(maxFiles);
        maxHosts = maxHosts == null ? null : List.copyOf(maxHosts);
        maxEnv = maxEnv == null ? null : Set.copyOf(maxEnv);
        Objects.requireNonNull(http, "http");
    }

    public AccessPolicy withMounts(List<MountTable.Mount> m) {
        return new AccessPolicy(m, maxFiles, maxHosts, maxEnv, http);
    }

    public AccessPolicy withMaxFiles(List<FileGrant> files) {
        return new AccessPolicy(mounts, files, maxHosts, maxEnv, http);
    }

    public AccessPolicy withMaxHosts(List<String> hosts) {
        return new AccessPolicy(mounts, maxFiles, hosts, maxEnv, http);
    }

    public AccessPolicy withMaxEnv(Set<String> env) {
        return new AccessPolicy(mounts, maxFiles, maxHosts, env, http);
    }

    public AccessPolicy withHttp(HttpLimits limits) {
        return new AccessPolicy(mounts, maxFiles, maxHosts, maxEnv, limits);
    }
}
