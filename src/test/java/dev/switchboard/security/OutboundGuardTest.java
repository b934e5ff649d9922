package dev.switchboard.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.config.ConfigError;
import dev.switchboard.config.ConfigNode;
import io.vertx.core.Vertx;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

@DisplayName("Outbound calls reach the internet, and internal addresses only when allowed")
class OutboundGuardTest {

  private static final OutboundGuard NONE = OutboundGuard.of(List.of());

  private static String refusal(OutboundGuard guard, String host) {
    return assertThrows(OutboundGuard.Refused.class, () -> guard.resolve(host)).getMessage();
  }

  @ParameterizedTest(name = "{0} is refused as {1}")
  @CsvSource({
      "127.0.0.1, loopback",
      "127.8.9.10, loopback",
      "10.0.0.1, private",
      "172.16.0.1, private",
      "172.31.255.254, private",
      "192.168.1.1, private",
      "100.64.0.1, private",
      "169.254.169.254, link-local",
      "0.0.0.0, unspecified",
      "224.0.0.1, multicast",
      "255.255.255.255, reserved",
      "192.0.0.192, reserved",
      "198.18.0.1, reserved",
      "198.19.255.254, reserved",
      "[::1], loopback",
      "::1, loopback",
      "[::], unspecified",
      "[fe80::1], link-local",
      "[fc00::1], unique-local",
      "[fd12:3456::1], unique-local",
      "[ff02::1], multicast"})
  void internalAddressesAreRefused(String host, String kind) {
    String why = refusal(NONE, host);
    assertTrue(why.contains("(" + kind), why);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[::ffff:169.254.169.254]", "[::ffff:10.0.0.1]",
      "[64:ff9b::a9fe:a9fe]", "[2002:a9fe:a9fe::1]", "[::127.0.0.1]"})
  void anIpv6FormOfAnInternalIpv4AddressIsRefused(String host) {
    String why = refusal(NONE, host);
    assertTrue(why.contains("internal address"), why);
  }

  @Test
  void anIpv4MappedAddressThatJavaKeepsAsIpv6IsJudgedByItsIpv4Part() throws Exception {
    byte[] mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, (byte) 169, (byte) 254, (byte) 169, (byte) 254};
    InetAddress address = Inet6Address.getByAddress(null, mapped, -1);
    assertTrue(OutboundGuard.internal(address).startsWith("link-local"), OutboundGuard.internal(address));
  }

  @ParameterizedTest(name = "{0} is on the internet")
  @ValueSource(strings = {"8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "[2001:4860:4860::8888]", "[::ffff:8.8.8.8]"})
  void publicAddressesPass(String host) {
    assertTrue(NONE.resolve(host) != null);
  }

  @Test
  void aNameThatResolvesToLoopbackIsRefused() {
    String why = refusal(NONE, "localhost");
    assertTrue(why.contains("localhost resolves to the internal address"), why);
    assertTrue(why.contains("add `allow: [\"localhost\"]` under security.outbound in switchboard.yaml"), why);
    assertTrue(why.contains("SWITCHBOARD_OUTBOUND_ALLOW=localhost"), why);
  }

  @Test
  void anAllowedNameMayResolveInside() {
    assertTrue(OutboundGuard.of(List.of("localhost")).resolve("localhost").isLoopbackAddress());
  }

  @Test
  void anAllowedAddressIsAllowedAndItsNeighbourIsNot() {
    OutboundGuard guard = OutboundGuard.of(List.of("127.0.0.1"));
    assertTrue(guard.resolve("127.0.0.1").isLoopbackAddress());
    refusal(guard, "127.0.0.2");
  }

  @Test
  void aCidrAllowsTheAddressesInItOnly() {
    OutboundGuard guard = OutboundGuard.of(List.of("10.0.0.0/8", "fd00::/8"));
    assertEquals("10.1.2.3", guard.resolve("10.1.2.3").getHostAddress());
    assertTrue(guard.allowsHost("[fd12::1]"));
    refusal(guard, "192.168.0.1");
    refusal(guard, "[fc00::1]");
    assertTrue(OutboundGuard.of(List.of("172.16.0.0/12")).allowsHost("172.31.0.1"));
    assertFalse(OutboundGuard.of(List.of("172.16.0.0/12")).allowsHost("172.32.0.1"));
  }

  @Test
  void anIpv4CidrAlsoCoversTheMappedIpv6FormsOfItsAddresses() throws Exception {
    byte[] mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, 127, 0, 0, 1};
    assertTrue(OutboundGuard.of(List.of("127.0.0.0/8")).allowsAddress(Inet6Address.getByAddress(null, mapped, -1)));
  }

  @Test
  void anIpv6LiteralIsAllowedWithOrWithoutBrackets() {
    for (String entry : List.of("::1", "[::1]", "0:0:0:0:0:0:0:1")) {
      OutboundGuard guard = OutboundGuard.of(List.of(entry));
      assertTrue(guard.allowsHost("[::1]") && guard.allowsHost("::1"), entry);
      assertTrue(guard.resolve("[::1]").isLoopbackAddress(), entry);
    }
  }

  @Test
  void aWildcardAllowsSubdomainsOnly() {
    OutboundGuard guard = OutboundGuard.of(List.of("*.corp.example"));
    assertTrue(guard.allowsHost("vllm.corp.example"));
    assertTrue(guard.allowsHost("a.b.corp.example"));
    assertFalse(guard.allowsHost("corp.example"));
    assertFalse(guard.allowsHost("evilcorp.example"));
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"http://127.0.0.1", "127.0.0.1:8000", "10.0.0.0/33", "300.1.1.1/8", "host/path", "a b"})
  void anEntryThatIsNotAHostAddressOrCidrIsRefused(String entry) {
    assertThrows(IllegalArgumentException.class, () -> OutboundGuard.of(List.of(entry)));
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"file:///etc/passwd", "ftp://example.com/", "gopher://example.com:70/", "jar:http://x/y!/z",
      "//example.com/", "example.com"})
  void onlyHttpAndHttpsUrlsCanBeCalled(String url) {
    String why = assertThrows(IllegalArgumentException.class, () -> OutboundGuard.target(url)).getMessage();
    assertTrue(why.contains("only http:// and https://"), why);
  }

  @Test
  void aUrlWithUserInfoIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> OutboundGuard.target("http://user:pw@example.com/"));
  }

  @Test
  void theEnvironmentAddsToTheConfiguredList() {
    ConfigNode outbound = ConfigNode.of("switchboard.yaml", Map.of("allow", List.of("10.0.0.0/8")));
    OutboundGuard guard = OutboundGuard.from(outbound, Map.of(OutboundGuard.ENV, "127.0.0.1, ::1")::get);
    assertTrue(guard.allowsHost("10.9.9.9"));
    assertTrue(guard.allowsHost("127.0.0.1"));
    assertTrue(guard.allowsHost("[::1]"));
    assertFalse(guard.allowsHost("192.168.0.1"));
  }

  @Test
  void aBadConfiguredEntryNamesTheKey() {
    ConfigNode outbound = ConfigNode.of("switchboard.yaml", Map.of("allow", List.of("http://127.0.0.1:8000")));
    ConfigError e = assertThrows(ConfigError.class, () -> OutboundGuard.from(outbound, n -> null));
    assertEquals("allow", e.key());
  }

  @Test
  void aConfiguredInternalUrlIsAConfigErrorNamingTheKeyAndTheLineToAdd() {
    ConfigNode file = ConfigNode.of("model_provider.yaml", Map.of("providers", List.of(
        Map.of("name", "cloud", "endpoint", "https://8.8.8.8/v1"),
        Map.of("name", "local-vllm", "endpoint", "http://127.0.0.1:8000/v1?key=secret"))));
    ConfigError e = assertThrows(ConfigError.class, () -> NONE.checkConfiguredUrls(file, Set.of("endpoint")));
    assertEquals("providers[1].endpoint", e.key());
    assertTrue(e.getMessage().contains("add `allow: [\"127.0.0.1\"]` under security.outbound"), e.getMessage());
    assertFalse(e.getMessage().contains("secret"), "the query may hold a key: " + e.getMessage());
    OutboundGuard.of(List.of("127.0.0.1")).checkConfiguredUrls(file, Set.of("endpoint"));
  }

  @Test
  void aConfiguredUrlWithAnotherSchemeIsAConfigError() {
    ConfigNode file = ConfigNode.of("channels.yaml", Map.of("webhooks", List.of(Map.of("name", "erp", "url", "file:///etc/passwd"))));
    ConfigError e = assertThrows(ConfigError.class, () -> NONE.checkConfiguredUrls(file, Set.of("url")));
    assertEquals("webhooks[0].url", e.key());
  }

  @Test
  void aConfiguredHostWithoutSchemeIsCheckedAsHttps() {
    ConfigNode file = ConfigNode.of("channels.yaml", Map.of("dingtalk", List.of(
        Map.of("name", "assistant", "session_webhook_hosts", List.of("oapi.dingtalk.invalid", "http://127.0.0.1:9")))));
    ConfigError e = assertThrows(ConfigError.class, () -> NONE.checkConfiguredUrls(file, Set.of("session_webhook_hosts")));
    assertEquals("dingtalk[0].session_webhook_hosts[1]", e.key());
  }

  @Test
  void aConfiguredNameThatDoesNotResolveAtStartUpIsLetThrough() {
    // start-up works offline; calling the name later fails like any unreachable host
    NONE.checkConfigured(ConfigNode.of("model_provider.yaml", "x"), "https://no-such-host.invalid/v1");
  }

  @Test
  void theInstalledGuardIsTheOneItsVertxAnswers() throws Exception {
    Vertx one = Vertx.vertx();
    Vertx other = Vertx.vertx();
    try {
      OutboundGuard.of(List.of("127.0.0.1")).install(one);
      assertEquals("127.0.0.1", OutboundGuard.in(one).check(one, "127.0.0.1").await(10, TimeUnit.SECONDS).getHostAddress());
      Exception e = assertThrows(Exception.class, () -> OutboundGuard.in(other).check(other, "127.0.0.1").await(10, TimeUnit.SECONDS));
      assertTrue(e.getMessage().contains("loopback"), e.getMessage());
    } finally {
      one.close().await(10, TimeUnit.SECONDS);
      other.close().await(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void anUnresolvableNameIsRefused() {
    assertTrue(refusal(NONE, "no-such-host.invalid").startsWith("cannot resolve"));
  }

  @Test
  void publicAddressesHaveNoInternalKind() throws Exception {
    assertNull(OutboundGuard.internal(InetAddress.getByName("8.8.4.4")));
  }
}
