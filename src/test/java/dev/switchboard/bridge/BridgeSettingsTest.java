package dev.switchboard.bridge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.config.ConfigError;
import dev.switchboard.config.ConfigNode;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Bridge settings")
class BridgeSettingsTest {

  static final BridgeSettings.Server SERVER = new BridgeSettings.Server("127.0.0.1", 18789, dev.switchboard.ingress.TlsSettings.OFF);

  static BridgeSettings read(Map<String, Object> bridge) {
    return BridgeSettings.from(ConfigNode.of("switchboard.yaml", Map.of("bridge", bridge)).get("bridge"), SERVER);
  }

  @Test
  @DisplayName("without a bridge section both bridges are off, and every public address is listed")
  void offByDefault() {
    BridgeSettings s = BridgeSettings.from(ConfigNode.empty("switchboard.yaml"), SERVER);
    assertFalse(s.anyEnabled());
    assertEquals("127.0.0.1", s.tcpHost());
    assertEquals(7000, s.tcpPort());
    assertEquals(PublicApi.INBOUND, s.inbound());
    assertEquals(PublicApi.OUTBOUND, s.outbound());
  }

  @Test
  @DisplayName("an internal address listed as inbound stops start-up, naming the key and the public addresses")
  void internalAddressRefused() {
    ConfigError e = assertThrows(ConfigError.class, () -> read(Map.of("inbound", List.of("task.submit"))));
    assertTrue(e.getMessage().contains("bridge.inbound") && e.getMessage().contains("'task.submit' is not a public inbound address"),
        e.getMessage());
  }

  @Test
  @DisplayName("a published address listed as inbound is refused: each address has one direction")
  void wrongDirectionRefused() {
    ConfigError e = assertThrows(ConfigError.class, () -> read(Map.of("inbound", List.of(PublicApi.TASKS_EVENTS))));
    assertTrue(e.getMessage().contains("bridge.inbound"), e.getMessage());
  }

  @Test
  @DisplayName("TLS on the TCP bridge needs server.tls, whose certificate it uses")
  void tlsNeedsServerTls() {
    ConfigError e = assertThrows(ConfigError.class, () -> read(Map.of("tcp", Map.of("enabled", true, "tls", true))));
    assertTrue(e.getMessage().contains("bridge.tcp.tls"), e.getMessage());
  }

  @Test
  @DisplayName("a SockJS path the HTTP API uses is refused")
  void apiPathRefused() {
    ConfigError e = assertThrows(ConfigError.class, () -> read(Map.of("sockjs", Map.of("enabled", true, "path", "/api/bus"))));
    assertTrue(e.getMessage().contains("bridge.sockjs.path"), e.getMessage());
  }
}
