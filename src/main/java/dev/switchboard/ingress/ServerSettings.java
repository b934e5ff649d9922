package dev.switchboard.ingress;

import dev.switchboard.config.ConfigNode;
import dev.switchboard.security.CorsPolicy;
import java.time.Duration;
import java.util.function.Function;

/**
 * The {@code server} section of {@code switchboard.yaml} (and the CORS policy of the
 * {@code security} section, which the same HTTP server applies). {@code SWITCHBOARD_HTTP_HOST} and
 * {@code SWITCHBOARD_HTTP_PORT} win over the file, so a deployment can move the listener without
 * editing it.
 *
 * <p>{@code header_timeout} bounds how long a new connection may take to send its first request's
 * headers, {@code body_timeout} how long a request's whole body may take to arrive after its
 * headers, {@code idle_timeout} how long a kept-alive connection may wait for its next request,
 * and {@code max_connections} how many connections are open at once (more get 503), so that slow
 * or idle clients cannot use up the process's file descriptors.
 */
public record ServerSettings(String host, int port, long maxBodySize, TlsSettings tls,
                             int eventLoops, Duration headerTimeout, Duration bodyTimeout, Duration idleTimeout,
                             int maxConnections, CorsPolicy cors) {

  public static final String DEFAULT_HOST = "127.0.0.1";
  public static final int DEFAULT_PORT = 18789;
  public static final long DEFAULT_MAX_BODY = 4L * 1024 * 1024;
  public static final Duration DEFAULT_HEADER_TIMEOUT = Duration.ofSeconds(10);
  public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(60);
  /**
   * The bodies here are chat requests and platform callbacks, a few KB to a few hundred; 30 s
   * still lets a client on about 1.2 Mbit/s send a full {@code max_body_size} (4 MB), while a
   * connection trickling its body is held for at most header_timeout + body_timeout (40 s)
   * instead of as long as it keeps sending a byte now and then.
   */
  public static final Duration DEFAULT_BODY_TIMEOUT = Duration.ofSeconds(30);
  /** Well below the 65536 descriptors the systemd unit and the Docker instructions give the process. */
  public static final int DEFAULT_MAX_CONNECTIONS = 10_000;

  public static ServerSettings from(ConfigNode node, Function<String, String> env) {
    return from(node, ConfigNode.empty(node.file()), env);
  }

  /** Blocking (reads the TLS files when TLS is on): call it before Vert.x starts. */
  public static ServerSettings from(ConfigNode node, ConfigNode cors, Function<String, String> env) {
    node.allowOnly("host", "port", "tls", "max_body_size", "event_loops", "header_timeout", "body_timeout", "idle_timeout",
        "max_connections");
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
    TlsSettings tls = TlsSettings.from(node.get("tls"));
    // 0: Vert.x's default, two per core; fewer loops mean fewer hand-offs between threads
    int loops = node.get("event_loops").integer(0, 0, 1024);
    long maxBody = node.get("max_body_size").size(DEFAULT_MAX_BODY);
    if (maxBody < 1) {
      throw node.get("max_body_size").error("must be at least 1 byte");
    }
    return new ServerSettings(host, port, maxBody, tls, loops,
        positive(node.get("header_timeout"), DEFAULT_HEADER_TIMEOUT),
        positive(node.get("body_timeout"), DEFAULT_BODY_TIMEOUT),
        positive(node.get("idle_timeout"), DEFAULT_IDLE_TIMEOUT),
        node.get("max_connections").integer(DEFAULT_MAX_CONNECTIONS, 1, 1_000_000),
        CorsPolicy.from(cors));
  }

  private static Duration positive(ConfigNode node, Duration fallback) {
    Duration d = node.duration(fallback);
    if (d.isZero() || d.isNegative()) {
      throw node.error("must be longer than 0, got '" + node.string("") + "'");
    }
    return d;
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
