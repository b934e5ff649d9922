package dev.switchboard.ingress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.switchboard.security.CorsPolicy;
import dev.switchboard.security.JwtSecret;
import dev.switchboard.security.Tokens;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The listener: TLS with the key formats the settings accept, and a start-up failure that says where and what to do. */
@DisplayName("The HTTP listener")
class ListenerTest {

  static Vertx vertx;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stop() {
    vertx.close().await();
  }

  private static int httpsHealth(String cert, String key) throws Exception {
    Path tls = Path.of("src", "test", "resources", "tls").toAbsolutePath();
    String yaml = ShippedConf.switchboardWith("server",
        "  tls: { enabled: true, cert: \"" + tls.resolve(cert) + "\", key: \"" + tls.resolve(key) + "\" }");
    try (TestGateway gateway = TestGateway.builder().file("switchboard.yaml", yaml).start()) {
      WebClient https = WebClient.create(vertx, new WebClientOptions().setSsl(true).setTrustAll(true).setVerifyHost(false));
      return https.get(gateway.port(), "127.0.0.1", "/healthz").send().await(10, TimeUnit.SECONDS).statusCode();
    }
  }

  @Test
  @DisplayName("serves HTTPS with an RSA key in PKCS#1 form")
  void tlsRsaPkcs1() throws Exception {
    assertEquals(200, httpsHealth("rsa-cert.pem", "rsa-key-pkcs1.pem"));
  }

  @Test
  @DisplayName("serves HTTPS with an EC key in SEC1 form")
  void tlsEcSec1() throws Exception {
    assertEquals(200, httpsHealth("ec-cert.pem", "ec-key-sec1.pem"));
  }

  @Test
  @DisplayName("a port already in use fails start-up naming the address, the port and what to set")
  void addressInUse() throws Exception {
    try (ServerSocket held = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
      int port = held.getLocalPort();
      ServerSettings settings = new ServerSettings("127.0.0.1", port, ServerSettings.DEFAULT_MAX_BODY, TlsSettings.OFF, 0,
          ServerSettings.DEFAULT_HEADER_TIMEOUT, ServerSettings.DEFAULT_BODY_TIMEOUT, ServerSettings.DEFAULT_IDLE_TIMEOUT, ServerSettings.DEFAULT_MAX_CONNECTIONS,
          CorsPolicy.OFF);
      HttpIngressVerticle ingress = new HttpIngressVerticle(settings,
          Tokens.auth(vertx, new JwtSecret(TestGateway.SECRET, "test")), Duration.ofSeconds(30));
      ExecutionException e = assertThrows(ExecutionException.class,
          () -> vertx.deployVerticle(ingress).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS));
      assertEquals("cannot listen on 127.0.0.1:" + port + ": address already in use (another process, perhaps another "
          + "switchboard, holds it; set SWITCHBOARD_HTTP_PORT or server.port)", e.getCause().getMessage());
    }
  }
}
