package io.capsule.core.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.capsule.core.options.Ceilings;
import io.capsule.core.options.FileGrant;
import io.capsule.core.options.InvalidTaskException;
import io.capsule.core.options.Limits;
import io.capsule.core.options.TaskDefaults;
import io.capsule.core.options.TaskOptions;
import io.capsule.core.options.Units;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GrantsTest {
    @TempDir
    Path root;

    private static Limits limits(List<FileGrant> files, List<String> hosts, List<String> env) {
        return new Limits("t", 1, 1, null, 0, files, hosts, env);
    }

    @Test
    void pathsLeavingTheProjectAreInvalid() throws Exception {
        Grants g = new Grants(root, AccessPolicy.DEFAULT);
        for (String path : List.of("/", "..", "../x", "/etc", "./a/../../b")) {
            assertThatThrownBy(() -> g.check(limits(List.of(new FileGrant(path, false)), List.of(), List.of()), null))
                    .as(path).isInstanceOf(InvalidTaskException.class).hasMessageContaining("escapes the project");
        }
        Files.createSymbolicLink(root.resolve("out"), Path.of("/etc"));
        assertThatThrownBy(() -> g.mounts(List.of(new FileGrant("./out", false))))
                .isInstanceOf(InvalidTaskException.class).hasMessageContaining("symbolic link out of the project");
        assertThatThrownBy(() -> g.mounts(List.of(new FileGrant("./missing", false))))
                .isInstanceOf(InvalidTaskException.class).hasMessageContaining("no such directory");
    }

    @Test
    void subTaskGrantsMustFitInsideTheParents() throws Exception {
        Files.createDirectories(root.resolve("data/in"));
        Grants g = new Grants(root, AccessPolicy.DEFAULT);
        Limits parent = limits(List.of(new FileGrant("./data", false)), List.of("*.example.com", "api.other.org:443"),
                List.of("TOKEN"));
        assertThatCode(() -> g.check(limits(List.of(new FileGrant("data/in", false)),
                List.of("a.example.com", "*.x.example.com", "api.other.org:443"), List.of("TOKEN")), parent))
                .doesNotThrowAnyException();
        assertThatThrownBy(() -> g.check(limits(List.of(new FileGrant("./data/in", true)), List.of(), List.of()), parent))
                .isInstanceOf(PermissionDeniedException.class);
        assertThatThrownBy(() -> g.check(limits(List.of(new FileGrant(".", false)), List.of(), List.of()), parent))
                .isInstanceOf(PermissionDeniedException.class);
        for (String host : List.of("*", "example.com", "*.com", "api.other.org", "api.other.org:80")) {
            assertThatThrownBy(() -> g.check(limits(List.of(), List.of(host), List.of()), parent))
                    .as(host).isInstanceOf(PermissionDeniedException.class);
        }
        assertThatThrownBy(() -> g.check(limits(List.of(), List.of(), List.of("HOME")), parent))
                .isInstanceOf(PermissionDeniedException.class);
    }

    @Test
    void entryGrantsMustFitTheHostCeiling() {
        Grants g = new Grants(root, AccessPolicy.DEFAULT.withMaxHosts(List.of("api.example.com")).withMaxEnv(Set.of("A"))
                .withMaxFiles(List.of(new FileGrant("./data", false))));
        assertThatThrownBy(() -> g.check(limits(List.of(), List.of("evil.com"), List.of()), null))
                .isInstanceOf(PermissionDeniedException.class).hasMessageContaining("the host allows");
        assertThatThrownBy(() -> g.check(limits(List.of(), List.of(), List.of("B")), null))
                .isInstanceOf(PermissionDeniedException.class);
        assertThatThrownBy(() -> g.check(limits(List.of(new FileGrant("./data", true)), List.of(), List.of()), null))
                .isInstanceOf(PermissionDeniedException.class);
    }

    @Test
    void quantitiesBeyondTheCeilingAreLowered() {
        var declared = new TaskOptions(null, Units.FUEL_HIGH, 100L << 30, null, 50, null, null, null);
        Ceilings ceilings = Ceilings.DEFAULT.withMaxFuel(Units.FUEL_LOW).withMaxRamBytes(256L << 20);
        Limits l = Limits.resolve("t", declared, TaskDefaults.BUILT_IN, ceilings);
        assertThat(l.fuel()).isEqualTo(Units.FUEL_LOW);
        assertThat(l.ramBytes()).isEqualTo(256L << 20);
        assertThat(l.maxRetries()).isEqualTo(10);
    }
}
