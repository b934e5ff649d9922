package dev.switchboard.ingress;

import dev.switchboard.config.ConfigNode;
import java.util.function.Function;

/**
 * The {@code server} section of {@code switchboard.yaml}. {@code SWITCHBOARD_HTTP_HOST} and
 * {@code SWITCHBOARD_HTTP_PORT} win over the file, so a deployment can move the listener without
 * editing it.
 */
public record ServerSettings(String host, int port, long maxBodySize, boolean tls, String tlsCert, String tlsKey,
                             int eventLoops) {

  public static final String DEFAULT_HOST = "127.0.0.1";
  public static final int DEFAULT_PORT = 18789;
  public static final long DEFAULT_MAX_BODY = 4L * 1024 * 1024;

  public static ServerSettings from(ConfigNode node, Function<String, String> env) {
    node.allowOnly("host", "port", "tls", "max_body_size", "event_loops");
    String host = firstNonEmpty(env.apply("SWITCHBOARD_HTTP_HOST"), node.get("host").string(""), DEFAULT_HOST);
    String envPort = env.apply("SWITCHBOARD_HTTP_PORT");
    int port;
    if (envPort != null && !envPort.isBlank()) {
      try {
        port = Integer.parseInt(envPort.trim());
      } catch (NumberFormatException e) {
        port = -1;
      }
      if (port < 0 || port > 65535) {
        throw node.get("port").error("SWITCHBOARD_HTTP_PORT must be a port number 0-65535, got '" + envPort + "'");
      }
    } else {
      port = node.get("port").integer(DEFAULT_PORT, 0, 65535);
    }
    ConfigNode tls = node.get("tls");
    tls.allowOnly("enabled", "cert", "key");
    boolean tlsOn = tls.get("enabled").bool(false);
    String cert = tls.get("cert").string("");
    String key = tls.get("key").string("");
    if (tlsOn && cert.isEmpty()) {
      throw tls.get("cert").error("is required when tls.enabled is true (a PEM certificate file)");
    }
    if (tlsOn && key.isEmpty()) {
      throw tls.get("key").error("is required when tls.enabled is true (a PEM private key file)");
    }
    // 0: Vert.x's default, two per core; fewer loops mean fewer hand-offs between threads
    int loops = node.get("event_loops").integer(0, 0, 1024);
    return new ServerSettings(host, port, node.get("max_body_size").size(DEFAULT_MAX_BODY), tlsOn, cert, key, loops);
  }

  private static String firstNonEmpty(String... values) {
    for (String v : values) {
      if (v != null && !v.isBlank()) {
        return v.trim();
      }
    }
    return "";
  }
}
