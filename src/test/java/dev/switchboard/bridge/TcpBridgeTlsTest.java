package dev.switchboard.bridge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.parsetools.RecordParser;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The TCP bridge with {@code tls: true} and {@code server.tls.client_ca}: a client needs a
 * certificate signed by that CA before it can send a frame at all (the token is still checked
 * after). The test CA is the self-signed RSA certificate, so its own key makes a good client.
 */
@DisplayName("TCP event-bus bridge over mutual TLS")
class TcpBridgeTlsTest {

  static final Path TLS = Path.of("src", "test", "resources", "tls").toAbsolutePath();
  static Vertx vertx;
  static TestGateway gateway;
  static int port;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    try (ServerSocket free = new ServerSocket(0)) {
      port = free.getLocalPort();
    }
    gateway = TestGateway.builder().file("switchboard.yaml", """
        server:
          tls: { enabled: true, cert: "%s", key: "%s", client_ca: "%s" }
        bridge:
          tcp: { enabled: true, host: "127.0.0.1", port: %d, tls: true }
        """.formatted(TLS.resolve("ec-cert.pem"), TLS.resolve("ec-key-pkcs8.pem"), TLS.resolve("rsa-cert.pem"), port)).start();
  }

  @AfterAll
  static void stop() throws Exception {
    gateway.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private static NetSocket connect(String cert, String key) throws Exception {
    NetClientOptions options = new NetClientOptions().setSsl(true).setHostnameVerificationAlgorithm("")
        .setTrustOptions(new PemTrustOptions().addCertPath(TLS.resolve("ec-cert.pem").toString()));
    if (cert != null) {
      options.setKeyCertOptions(new PemKeyCertOptions().setCertPath(TLS.resolve(cert).toString())
          .setKeyPath(TLS.resolve(key).toString()));
    }
    return vertx.createNetClient(options).connect(port, "127.0.0.1").await(10, TimeUnit.SECONDS);
  }

  /** A ping frame, and the first frame that comes back (or the failure of the connection). */
  private static JsonObject ping(NetSocket socket) throws Exception {
    CompletableFuture<JsonObject> answer = new CompletableFuture<>();
    RecordParser parser = RecordParser.newFixed(4);
    boolean[] header = {true};
    parser.handler(chunk -> {
      if (header[0]) {
        header[0] = false;
        parser.fixedSizeMode(chunk.getInt(0));
      } else {
        answer.complete(chunk.toJsonObject());
      }
    });
    socket.handler(parser);
    socket.closeHandler(v -> answer.completeExceptionally(new IllegalStateException("closed")));
    socket.exceptionHandler(answer::completeExceptionally);
    Buffer frame = new JsonObject().put("type", "ping").toBuffer();
    socket.write(Buffer.buffer().appendInt(frame.length()).appendBuffer(frame));
    return answer.get(10, TimeUnit.SECONDS);
  }

  @Test
  @DisplayName("a client with a certificate signed by client_ca is served")
  void signedClientIsServed() throws Exception {
    assertEquals("pong", ping(connect("rsa-cert.pem", "rsa-key-pkcs8.pem")).getString("type"));
  }

  @Test
  @DisplayName("a client without a certificate gets no frame through")
  void clientWithoutCertificateIsRefused() {
    assertThrows(Exception.class, () -> ping(connect(null, null)));
  }

  @Test
  @DisplayName("a client whose certificate another CA signed gets no frame through")
  void clientOfAnotherCaIsRefused() {
    assertThrows(Exception.class, () -> ping(connect("ec-cert.pem", "ec-key-pkcs8.pem")));
  }

  @Test
  @DisplayName("the HTTP listener does not ask for a client certificate")
  void httpNeedsNoClientCertificate() throws Exception {
    var https = io.vertx.ext.web.client.WebClient.create(vertx, new io.vertx.ext.web.client.WebClientOptions()
        .setSsl(true).setTrustAll(true).setVerifyHost(false));
    assertEquals(200, https.get(gateway.port(), "127.0.0.1", "/healthz").send().await(10, TimeUnit.SECONDS).statusCode());
  }
}
