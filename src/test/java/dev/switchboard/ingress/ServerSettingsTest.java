package dev.switchboard.ingress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.Settings;
import dev.switchboard.config.ConfigError;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server and security sections: every key has an effect, and a bad one stops start-up with
 * one line naming the file, the key and the problem.
 */
@DisplayName("Server and security settings")
class ServerSettingsTest {

  static final Path TLS = Path.of("src", "test", "resources", "tls").toAbsolutePath();

  private static Settings load(Path dir, String section, String... lines) throws Exception {
    for (String name : new String[] {"model_provider.yaml", "channels.yaml"}) {
      Files.copy(Path.of("conf", name), dir.resolve(name));
    }
    Files.writeString(dir.resolve("switchboard.yaml"), section == null
        ? Files.readString(Path.of("conf", "switchboard.yaml")) : ShippedConf.switchboardWith(section, lines));
    return Settings.load(dir, Map.<String, String>of()::get);
  }

  private static String tls(String cert, String key) {
    return "  tls: { enabled: true, cert: \"" + TLS.resolve(cert) + "\", key: \"" + TLS.resolve(key) + "\" }";
  }

  private static ConfigError refused(Path dir, String section, String... lines) {
    return assertThrows(ConfigError.class, () -> load(dir, section, lines));
  }

  @Test
  @DisplayName("defaults: header_timeout 10s, body_timeout 30s, idle_timeout 60s, max_connections 10000, no CORS")
  void defaults(@TempDir Path dir) throws Exception {
    ServerSettings s = load(dir, null).server();
    assertEquals(Duration.ofSeconds(10), s.headerTimeout());
    assertEquals(Duration.ofSeconds(30), s.bodyTimeout());
    assertEquals(Duration.ofSeconds(60), s.idleTimeout());
    assertEquals(10_000, s.maxConnections());
    assertFalse(s.cors().enabled());
  }

  @Test
  @DisplayName("an unknown key in the bridge section is refused, naming it")
  void bridgeUnknownKeyRefused(@TempDir Path dir) throws Exception {
    for (String name : new String[] {"model_provider.yaml", "channels.yaml"}) {
      Files.copy(Path.of("conf", name), dir.resolve(name));
    }
    // bridge: is the shipped file's last section, so this line is one of its keys
    Files.writeString(dir.resolve("switchboard.yaml"), Files.readString(Path.of("conf", "switchboard.yaml"))
        + "  websocket: true\n");
    ConfigError e = assertThrows(ConfigError.class, () -> Settings.load(dir, Map.<String, String>of()::get));
    assertEquals("bridge.websocket", e.key());
    assertTrue(e.getMessage().contains("switchboard.yaml") && e.getMessage().contains("unknown key"), e.getMessage());
  }

  @Test
  @DisplayName("security.cors.origins lists origins; a URL with a path is refused naming the entry")
  void corsOrigins(@TempDir Path dir) throws Exception {
    ServerSettings s = load(dir, "security", "  cors: { origins: [\"https://app.example.com\", \"http://localhost:5173\"] }").server();
    assertEquals(List.of("https://app.example.com", "http://localhost:5173"), s.cors().origins());
    ConfigError e = refused(Files.createDirectories(dir.resolve("bad")), "security", "  cors: { origins: [\"https://app.example.com/app\"] }");
    assertEquals("security.cors.origins[0]", e.key());
  }

  @Test
  @DisplayName("an unknown key under security.cors is refused")
  void corsUnknownKey(@TempDir Path dir) {
    ConfigError e = refused(dir, "security", "  cors: { origins: [], methods: [\"GET\"] }");
    assertEquals("security.cors.methods", e.key());
  }

  @Test
  @DisplayName("header_timeout, body_timeout, idle_timeout and max_connections are read, and 0 is refused")
  void limits(@TempDir Path dir) throws Exception {
    ServerSettings s = load(dir, "server", "  header_timeout: 2s", "  body_timeout: 90s", "  idle_timeout: 5m",
        "  max_connections: 500").server();
    assertEquals(Duration.ofSeconds(2), s.headerTimeout());
    assertEquals(Duration.ofSeconds(90), s.bodyTimeout());
    assertEquals(Duration.ofMinutes(5), s.idleTimeout());
    assertEquals(500, s.maxConnections());
    assertEquals("server.header_timeout", refused(Files.createDirectories(dir.resolve("a")), "server", "  header_timeout: 0s").key());
    assertEquals("server.max_connections", refused(Files.createDirectories(dir.resolve("b")), "server", "  max_connections: 0").key());
    assertEquals("server.body_timeout", refused(Files.createDirectories(dir.resolve("c")), "server", "  body_timeout: 0s").key());
  }

  @Test
  @DisplayName("TLS accepts RSA (PKCS#8, PKCS#1) and EC (SEC1, PKCS#8) key pairs")
  void tlsPairs(@TempDir Path dir) throws Exception {
    String[][] pairs = {{"rsa-cert.pem", "rsa-key-pkcs8.pem"}, {"rsa-cert.pem", "rsa-key-pkcs1.pem"},
        {"ec-cert.pem", "ec-key-sec1.pem"}, {"ec-cert.pem", "ec-key-pkcs8.pem"}};
    for (String[] pair : pairs) {
      ServerSettings s = load(Files.createDirectories(dir.resolve(pair[1])), "server", tls(pair[0], pair[1])).server();
      assertTrue(s.tls().enabled(), pair[1]);
    }
  }

  @Test
  @DisplayName("a certificate file that does not exist names server.tls.cert and the path")
  void missingCert(@TempDir Path dir) {
    ConfigError e = refused(dir, "server", tls("nope.pem", "rsa-key-pkcs8.pem"));
    assertEquals("server.tls.cert", e.key());
    assertTrue(e.problem().contains(TLS.resolve("nope.pem").toString()) && e.problem().contains("no such file"), e.getMessage());
  }

  @Test
  @DisplayName("a key path that is a directory names server.tls.key")
  void keyIsDirectory(@TempDir Path dir) {
    ConfigError e = refused(dir, "server", "  tls: { enabled: true, cert: \"" + TLS.resolve("rsa-cert.pem") + "\", key: \"" + TLS + "\" }");
    assertEquals("server.tls.key", e.key());
    assertTrue(e.problem().startsWith("cannot read " + TLS), e.getMessage());
  }

  @Test
  @DisplayName("a key file that is not PEM names server.tls.key")
  void keyNotPem(@TempDir Path dir) throws Exception {
    Path garbage = Files.writeString(dir.resolve("key.pem"), "this is not a key\n");
    ConfigError e = refused(Files.createDirectories(dir.resolve("c")), "server",
        "  tls: { enabled: true, cert: \"" + TLS.resolve("rsa-cert.pem") + "\", key: \"" + garbage + "\" }");
    assertEquals("server.tls.key", e.key());
    assertTrue(e.problem().contains("not a PEM file"), e.getMessage());
  }

  @Test
  @DisplayName("a certificate where the key belongs names server.tls.key: it holds no private key")
  void certAsKey(@TempDir Path dir) {
    ConfigError e = refused(dir, "server", tls("rsa-cert.pem", "rsa-cert.pem"));
    assertEquals("server.tls.key", e.key());
    assertTrue(e.problem().contains("holds no private key"), e.getMessage());
  }

  @Test
  @DisplayName("a key where the certificate belongs names server.tls.cert")
  void keyAsCert(@TempDir Path dir) {
    ConfigError e = refused(dir, "server", tls("rsa-key-pkcs8.pem", "rsa-key-pkcs8.pem"));
    assertEquals("server.tls.cert", e.key());
    assertTrue(e.problem().contains("holds no certificate"), e.getMessage());
  }

  @Test
  @DisplayName("a PEM block that is not base64 names the key")
  void brokenBase64(@TempDir Path dir) throws Exception {
    Path broken = Files.writeString(dir.resolve("key.pem"), "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n");
    ConfigError e = refused(Files.createDirectories(dir.resolve("c")), "server",
        "  tls: { enabled: true, cert: \"" + TLS.resolve("rsa-cert.pem") + "\", key: \"" + broken + "\" }");
    assertEquals("server.tls.key", e.key());
  }

  @Test
  @DisplayName("an encrypted key is refused with how to decrypt it")
  void encryptedKey(@TempDir Path dir) {
    ConfigError e = refused(dir, "server", tls("rsa-cert.pem", "rsa-key-encrypted.pem"));
    assertEquals("server.tls.key", e.key());
    assertTrue(e.problem().contains("encrypted") && e.problem().contains("openssl pkey"), e.getMessage());
  }

  @Test
  @DisplayName("a key that belongs to another certificate is refused")
  void mismatchedKey(@TempDir Path dir) {
    ConfigError e = refused(dir, "server", tls("rsa-cert.pem", "other-rsa-key.pem"));
    assertEquals("server.tls.key", e.key());
    assertTrue(e.problem().contains("is not the private key of the certificate"), e.getMessage());
  }
}
