package dev.switchboard.ingress;

import dev.switchboard.config.ConfigNode;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.ServerSSLOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * {@code server.tls}: the PEM certificate and key, an optional client CA (mutual TLS, used by the
 * TCP bridge), and how often the files are checked for a change. What a handshake may negotiate is
 * fixed here rather than configurable, because every choice below a modern profile is a weakness a
 * security review flags: TLS 1.2 and 1.3 only, forward-secret AEAD suites only, HTTP/2 by ALPN.
 */
public record TlsSettings(boolean enabled, String cert, String key, String clientCa, Duration reloadCheck, String file) {

  public static final TlsSettings OFF = new TlsSettings(false, "", "", "", Duration.ZERO, "switchboard.yaml");
  public static final Duration DEFAULT_RELOAD_CHECK = Duration.ofSeconds(60);

  static final Set<String> PROTOCOLS = Set.of("TLSv1.2", "TLSv1.3");

  /**
   * Mozilla's "intermediate" suites, in its order: TLS 1.3's three (which the JDK always offers when
   * 1.3 is on), then ECDHE with AES-GCM or ChaCha20-Poly1305 for TLS 1.2. No CBC, no RSA key exchange,
   * no finite-field DHE, so no downgrade to anything without forward secrecy.
   */
  static final List<String> CIPHER_SUITES = List.of(
      "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
      "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
      "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
      "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");

  /** Blocking: reads and checks the files when TLS is on. */
  static TlsSettings from(ConfigNode tls) {
    tls.allowOnly("enabled", "cert", "key", "client_ca", "reload_check");
    boolean on = tls.get("enabled").bool(false);
    String cert = tls.get("cert").string("");
    String key = tls.get("key").string("");
    String clientCa = tls.get("client_ca").string("");
    if (on && cert.isEmpty()) {
      throw tls.get("cert").error("is required when tls.enabled is true (a PEM certificate file)");
    }
    if (on && key.isEmpty()) {
      throw tls.get("key").error("is required when tls.enabled is true (a PEM private key file)");
    }
    // 0 turns the check off; a change is then picked up at the next start only
    ConfigNode check = tls.get("reload_check");
    Duration reload = "0".equals(String.valueOf(check.raw()).trim()) ? Duration.ZERO : check.duration(DEFAULT_RELOAD_CHECK);
    if (reload.isNegative()) {
      throw check.error("must be 0 (off) or a duration such as 60s");
    }
    TlsSettings settings = new TlsSettings(on, cert, key, clientCa, reload, tls.file());
    if (on) {
      settings.load(tls, false);
    }
    return settings;
  }

  /**
   * Reads the files, checks them as start-up does and returns what the listener needs, built from
   * the bytes that were checked (not from the paths, which may change again before a handshake).
   * Blocking. A problem is a {@link dev.switchboard.config.ConfigError} naming the key.
   */
  ServerSSLOptions load(ConfigNode tls, boolean clientCertificates) {
    TlsFiles.check(tls.get("cert"), cert, tls.get("key"), key);
    ServerSSLOptions options = new ServerSSLOptions()
        .setKeyCertOptions(new PemKeyCertOptions().setCertValue(read(cert)).setKeyValue(read(key)))
        .setEnabledSecureTransportProtocols(PROTOCOLS)
        .setUseAlpn(true)
        .setApplicationLayerProtocols(List.of("h2", "http/1.1"));
    CIPHER_SUITES.forEach(options::addEnabledCipherSuite);
    if (!clientCa.isEmpty()) {
      TlsFiles.checkCertificates(tls.get("client_ca"), clientCa);
    }
    if (clientCertificates && !clientCa.isEmpty()) {
      options.setTrustOptions(new PemTrustOptions().addCertValue(read(clientCa))).setClientAuth(ClientAuth.REQUIRED);
    }
    return options;
  }

  /** Puts what {@link #load} made on the options a listener is created with. */
  public static void apply(ServerSSLOptions ssl, io.vertx.core.net.NetServerOptions target) {
    target.setSsl(true)
        .setKeyCertOptions(ssl.getKeyCertOptions())
        .setEnabledSecureTransportProtocols(ssl.getEnabledSecureTransportProtocols())
        .setUseAlpn(ssl.isUseAlpn());
    ssl.getEnabledCipherSuites().forEach(target::addEnabledCipherSuite);
    if (ssl.getTrustOptions() != null) {
      target.setTrustOptions(ssl.getTrustOptions()).setClientAuth(ssl.getClientAuth());
    }
    if (target instanceof io.vertx.core.http.HttpServerOptions http) {
      http.setAlpnVersions(List.of(io.vertx.core.http.HttpVersion.HTTP_2, io.vertx.core.http.HttpVersion.HTTP_1_1));
    }
  }

  /** {@link #load} for the HTTP listener (no client certificates asked for), with errors naming the same keys as at start-up. */
  ServerSSLOptions reload() {
    return load(ConfigNode.empty(file).get("server").get("tls"), false);
  }

  /**
   * {@link #load} for the TCP bridge: with {@code client_ca} set, a client must present a
   * certificate signed by it (mutual TLS); the HTTP listener never asks for one.
   */
  public ServerSSLOptions forBridge() {
    return load(ConfigNode.empty(file).get("server").get("tls"), true);
  }

  /** What the files look like now (size and modification time), to tell a change cheaply. Blocking. */
  String stamp() {
    StringBuilder b = new StringBuilder();
    for (String p : clientCa.isEmpty() ? List.of(cert, key) : List.of(cert, key, clientCa)) {
      try {
        Path path = Path.of(p);
        b.append(Files.size(path)).append('@').append(Files.getLastModifiedTime(path).toMillis()).append(';');
      } catch (IOException e) {
        b.append("unreadable;");
      }
    }
    return b.toString();
  }

  private static Buffer read(String path) {
    try {
      return Buffer.buffer(Files.readAllBytes(Path.of(path)));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
