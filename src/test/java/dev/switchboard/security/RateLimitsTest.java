package dev.switchboard.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.config.ConfigError;
import dev.switchboard.config.ConfigFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("security.rate_limits: which bucket a request takes from")
class RateLimitsTest {

  @TempDir
  Path dir;

  private RateLimits load(String rateLimits) throws IOException {
    Files.writeString(dir.resolve("switchboard.yaml"), "security:\n  rate_limits:\n" + rateLimits.indent(4));
    return RateLimits.from(new ConfigFiles(dir, k -> null).load("switchboard.yaml", false).get("security").get("rate_limits"));
  }

  static RateLimits.Limit limit(int rate, Duration per, int burst) {
    return new RateLimits.Limit(rate, per, burst);
  }

  @Test
  @DisplayName("without rate_limits (the shipped file) nothing is limited")
  void offWhenAbsent() throws IOException {
    Files.writeString(dir.resolve("switchboard.yaml"), "security:\n  jwt_secret: \"\"\n");
    RateLimits limits = RateLimits.from(new ConfigFiles(dir, k -> null).load("switchboard.yaml", false)
        .get("security").get("rate_limits"));
    assertEquals(RateLimits.OFF, limits);
    assertFalse(limits.limitsSubjects());
    assertNull(limits.forSubject("alice", RouteFamily.CHAT));
    assertNull(limits.forAddress("192.0.2.1"));
  }

  @Test
  @DisplayName("every key is read; burst defaults to the rate and per to 1s")
  void read() throws IOException {
    RateLimits limits = load("""
        default: { rate: 20, per: 1s, burst: 40 }
        families: { chat: { rate: 5 }, "memories:write": { rate: 1, per: 1m, burst: 3 } }
        subjects: { "ci-bot": { rate: 100, per: 1s, burst: 200 } }
        webhooks_per_ip: { rate: 10, per: 500ms, burst: 20 }
        """);
    assertEquals(new RateLimits(limit(20, Duration.ofSeconds(1), 40),
        Map.of(RouteFamily.CHAT, limit(5, Duration.ofSeconds(1), 5), RouteFamily.MEMORIES_WRITE, limit(1, Duration.ofMinutes(1), 3)),
        Map.of("ci-bot", limit(100, Duration.ofSeconds(1), 200)),
        limit(10, Duration.ofMillis(500), 20)), limits);
  }

  @Test
  @DisplayName("the most specific limit answers: the subject's own, else its family's, else the default")
  void mostSpecificWins() throws IOException {
    RateLimits limits = load("""
        default: { rate: 20 }
        families: { chat: { rate: 5 } }
        subjects: { "ci-bot": { rate: 100 } }
        """);
    assertEquals(new RateLimits.Bucket("all:ci-bot", limit(100, Duration.ofSeconds(1), 100), "subject 'ci-bot'"),
        limits.forSubject("ci-bot", RouteFamily.CHAT));
    assertEquals(new RateLimits.Bucket("family:chat:alice", limit(5, Duration.ofSeconds(1), 5), "subject 'alice' on chat"),
        limits.forSubject("alice", RouteFamily.CHAT));
    assertEquals(new RateLimits.Bucket("all:alice", limit(20, Duration.ofSeconds(1), 20), "subject 'alice'"),
        limits.forSubject("alice", RouteFamily.TASKS));
    assertEquals(limits.forSubject("alice", RouteFamily.TASKS).key(), limits.forSubject("alice", RouteFamily.ADMIN).key(),
        "the families without a limit of their own share the subject's default bucket");
  }

  @Test
  @DisplayName("webhook clients on IPv6 share a bucket per /64, the block one subscriber holds; IPv4 clients one per address")
  void ipv6ClientsPerSlash64() throws IOException {
    RateLimits limits = load("webhooks_per_ip: { rate: 5 }\n");
    assertEquals(limits.forAddress("2001:db8:1:2::1").key(), limits.forAddress("2001:db8:1:2:ffff:ffff:ffff:fffe").key());
    assertEquals("client address 2001:db8:1:2::/64 on webhooks", limits.forAddress("2001:db8:1:2::1").who());
    assertFalse(limits.forAddress("2001:db8:1:2::1").key().equals(limits.forAddress("2001:db8:1:3::1").key()));
    assertEquals("ip:192.0.2.1", limits.forAddress("192.0.2.1").key());
    assertFalse(limits.forAddress("192.0.2.1").key().equals(limits.forAddress("192.0.2.2").key()));
  }

  @Test
  @DisplayName("a family without a default and without a limit of its own is not limited")
  void unlistedFamilyFree() throws IOException {
    RateLimits limits = load("families: { tasks: { rate: 5 } }\n");
    assertTrue(limits.limitsSubjects());
    assertNull(limits.forSubject("alice", RouteFamily.CHAT));
    assertNull(limits.forAddress("192.0.2.1"), "webhooks are limited only by webhooks_per_ip");
  }

  @Test
  @DisplayName("a bad value stops start-up with one line naming the file and the key")
  void badValues() {
    for (String[] bad : new String[][] {
        {"default: { rate: 0 }", "security.rate_limits.default.rate"},
        {"default: { per: 1s }", "security.rate_limits.default.rate"},
        {"default: { rate: 5, per: soon }", "security.rate_limits.default.per"},
        {"default: { rate: 5, per: 2d }", "security.rate_limits.default.per"},
        {"default: { rate: 5, burst: 0 }", "security.rate_limits.default.burst"},
        {"default: { rate: 5, brust: 10 }", "security.rate_limits.default.brust"},
        {"families: { chats: { rate: 5 } }", "security.rate_limits.families.chats"},
        {"families: { open: { rate: 5 } }", "security.rate_limits.families.open"},
        {"families: { webhooks: { rate: 5 } }", "security.rate_limits.families.webhooks"},
        {"families: { chat: }", "security.rate_limits.families.chat"},
        {"subjects: { alice: { rate: -1 } }", "security.rate_limits.subjects.alice.rate"},
        {"per_ip: { rate: 5 }", "security.rate_limits.per_ip"}}) {
      ConfigError e = assertThrows(ConfigError.class, () -> load(bad[0]), bad[0]);
      assertTrue(e.getMessage().contains("switchboard.yaml: " + bad[1] + ": "), e.getMessage());
      assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }
  }

  @Test
  @DisplayName("webhooks under families is refused with a pointer to webhooks_per_ip")
  void webhooksFamilyPointsToPerIp() {
    ConfigError e = assertThrows(ConfigError.class, () -> load("families: { webhooks: { rate: 5 } }"));
    assertTrue(e.getMessage().contains("webhooks_per_ip"), e.getMessage());
  }
}
