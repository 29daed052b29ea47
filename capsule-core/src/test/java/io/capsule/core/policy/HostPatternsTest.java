package io.capsule.core.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

class HostPatternsTest {
    @Test
    void exactSubdomainAndAny() {
        assertThat(HostPatterns.match(List.of("api.example.com"), "API.Example.com.", 443)).isEqualTo("api.example.com");
        assertThat(HostPatterns.match(List.of("api.example.com"), "example.com", 443)).isNull();
        assertThat(HostPatterns.match(List.of("*.example.com"), "a.b.example.com", 80)).isEqualTo("*.example.com");
        assertThat(HostPatterns.match(List.of("*.example.com"), "example.com", 80)).isNull();
        assertThat(HostPatterns.match(List.of("*.example.com"), "evilexample.com", 80)).isNull();
        assertThat(HostPatterns.match(List.of("*"), "anything.org", 8080)).isEqualTo("*");
        assertThat(HostPatterns.match(List.of("127.0.0.1:8080"), "127.0.0.1", 8080)).isNotNull();
        assertThat(HostPatterns.match(List.of("127.0.0.1:8080"), "127.0.0.1", 80)).isNull();
    }

    @Test
    void internalAddresses() throws Exception {
        for (String a : List.of("127.0.0.1", "10.1.2.3", "192.168.0.1", "172.16.0.1", "169.254.169.254", "::1",
                "fd00::1", "100.64.0.1", "0.0.0.0")) {
            assertThat(HttpGateway.internal(InetAddress.getByName(a))).as(a).isTrue();
        }
        assertThat(HttpGateway.internal(InetAddress.getByName("93.184.216.34"))).isFalse();
    }
}
