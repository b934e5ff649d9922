package dev.switchboard.bridge;

import dev.switchboard.config.ConfigNode;
import java.util.List;

/**
 * switchboard.yaml's {@code bridge:} section: the TCP and SockJS event-bus bridges (both off until
 * enabled) and the public addresses they let through. Only addresses of the public contract
 * ({@link PublicApi}) can be listed, each in its own direction: the internal addresses are never
 * reachable from outside, whatever the file says.
 *
 * @param tcpTls the TCP bridge speaks TLS with server.tls's certificate and key (and asks for client certificates signed by server.tls.client_ca when set)
 */
public record BridgeSettings(boolean tcpEnabled, String tcpHost, int tcpPort, boolean tcpTls, dev.switchboard.ingress.TlsSettings serverTls,
                             boolean sockjsEnabled, String sockjsPath, List<String> inbound, List<String> outbound) {

  public static final BridgeSettings OFF = new BridgeSettings(false, "127.0.0.1", 7000, false, dev.switchboard.ingress.TlsSettings.OFF, false, "/eventbus",
      PublicApi.INBOUND, PublicApi.OUTBOUND);

  public boolean anyEnabled() {
    return tcpEnabled || sockjsEnabled;
  }

  /**
   * The HTTP server's address and TLS files, which the TCP bridge must not collide with and
   * borrows; given as values so that this section does not depend on how server settings are held.
   */
  public record Server(String host, int port, dev.switchboard.ingress.TlsSettings tls) {
  }

  public static BridgeSettings from(ConfigNode node, Server server) {
    node.allowOnly("tcp", "sockjs", "inbound", "outbound");
    ConfigNode tcp = node.get("tcp");
    tcp.allowOnly("enabled", "host", "port", "tls");
    boolean tcpOn = tcp.get("enabled").bool(false);
    String host = tcp.get("host").string(OFF.tcpHost());
    if (host.isEmpty()) {
      throw tcp.get("host").error("must be an address to listen on, such as 127.0.0.1");
    }
    // 0: any free port (tests); the bridge says which it took
    int port = tcp.get("port").integer(OFF.tcpPort(), 0, 65535);
    boolean tls = tcp.get("tls").bool(false);
    if (tcpOn && tls && !server.tls().enabled()) {
      throw tcp.get("tls").error("needs server.tls (enabled, cert, key): the TCP bridge uses the server's certificate and key");
    }
    if (tcpOn && port != 0 && port == server.port() && host.equals(server.host())) {
      throw tcp.get("port").error("is server.port (" + port + "): the TCP bridge needs a port of its own");
    }
    ConfigNode sockjs = node.get("sockjs");
    sockjs.allowOnly("enabled", "path");
    boolean sockjsOn = sockjs.get("enabled").bool(false);
    String path = sockjs.get("path").string(OFF.sockjsPath());
    if (!path.matches("/[A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*")) {
      throw sockjs.get("path").error("must be a path such as /eventbus (letters, digits, . _ ~ -), got '" + path + "'");
    }
    if (path.equals("/v1") || path.startsWith("/v1/") || path.equals("/api") || path.startsWith("/api/")
        || path.startsWith("/webhooks") || path.equals("/mcp") || path.equals("/healthz") || path.equals("/readyz")
        || path.equals("/metrics")) {
      throw sockjs.get("path").error("'" + path + "' is taken by the HTTP API: choose another, such as /eventbus");
    }
    List<String> inbound = addresses(node.get("inbound"), PublicApi.INBOUND, "inbound");
    List<String> outbound = addresses(node.get("outbound"), PublicApi.OUTBOUND, "outbound");
    return new BridgeSettings(tcpOn, host, port, tls, server.tls(), sockjsOn, path, inbound, outbound);
  }

  /** Unset: every public address of that direction; an empty list lets none through. */
  private static List<String> addresses(ConfigNode node, List<String> allowed, String direction) {
    if (node.isMissing()) {
      return allowed;
    }
    List<String> listed = node.strings();
    for (String address : listed) {
      if (!allowed.contains(address)) {
        throw node.error("'" + address + "' is not a public " + direction + " address; the " + direction
            + " addresses are " + String.join(", ", allowed));
      }
    }
    return List.copyOf(new java.util.LinkedHashSet<>(listed));
  }
}
