package dev.switchboard.ingress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Slow and idle clients cannot hold connections: headers must be complete within
 * {@code server.header_timeout}, a body within {@code server.body_timeout} of its headers, a
 * kept-alive connection is closed after {@code server.idle_timeout} without a request, and none of
 * these bounds cuts a response that is still being produced. The bounds are set to one or two
 * seconds here; the reads wait up to ten, so only a connection that is never closed fails (the
 * server's own last-resort idle timeout is over a minute).
 */
@DisplayName("Slow and idle connections are closed")
class SlowClientsTest {

  static final int WAIT = 10_000;
  static Vertx vertx;
  static FakeUpstream upstream;
  static TestGateway gateway;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    gateway = TestGateway.builder()
        .upstream(upstream.baseUrl())
        .file("switchboard.yaml", ShippedConf.switchboardWith("server", "  header_timeout: 1s", "  idle_timeout: 1s",
            "  body_timeout: 2s"))
        .start();
  }

  @AfterAll
  static void stop() {
    gateway.close();
    vertx.close().await();
  }

  @Test
  @DisplayName("a client trickling its headers one byte at a time is closed after header_timeout")
  void tricklingHeaders() throws Exception {
    try (RawHttp http = new RawHttp(gateway.port())) {
      http.send("GET /healthz HTTP/1.1\r\nHost: x\r\n");
      long deadline = System.currentTimeMillis() + WAIT;
      boolean closed = false;
      while (!closed && System.currentTimeMillis() < deadline) {
        try {
          http.send("X");
          closed = http.closedWithin(200);
        } catch (IOException broken) {
          closed = true;
        }
      }
      assertTrue(closed, "a connection trickling header bytes was kept open for " + WAIT + " ms");
    }
  }

  @Test
  @DisplayName("a connection that sends nothing is closed after header_timeout")
  void silentConnection() throws Exception {
    try (RawHttp http = new RawHttp(gateway.port())) {
      assertTrue(http.closedWithin(WAIT));
    }
  }

  @Test
  @DisplayName("a kept-alive connection without a next request is closed after idle_timeout")
  void idleKeepAlive() throws Exception {
    try (RawHttp http = new RawHttp(gateway.port())) {
      http.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
      assertEquals(200, http.readResponse(WAIT).status());
      assertTrue(http.closedWithin(WAIT), "an idle kept-alive connection was kept open");
    }
  }

  @Test
  @DisplayName("a client trickling its body one byte at a time gets 408 and is closed after body_timeout")
  void tricklingBody() throws Exception {
    // a webhook route: no token needed, so anyone can open such a connection
    try (RawHttp http = new RawHttp(gateway.port())) {
      http.send("POST /webhooks/hooks/ci HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          + "Content-Length: 1000\r\n\r\n{");
      long deadline = System.currentTimeMillis() + WAIT;
      StringBuilder got = new StringBuilder();
      boolean closed = false;
      while (!closed && System.currentTimeMillis() < deadline) {
        try {
          http.send(" ");
          RawHttp.Answer a = http.readUntilClosed(300);
          got.append(a.text());
          closed = a.closed();
        } catch (IOException broken) {
          closed = true;
        }
      }
      assertTrue(closed, "a connection trickling body bytes was kept open for " + WAIT + " ms: " + got);
      RawHttp.Answer answer = new RawHttp.Answer(got.toString(), true);
      assertEquals(408, answer.status(), answer.text());
      assertTrue(answer.body().contains("server.body_timeout"), answer.text());
    }
  }

  @Test
  @DisplayName("an upload of a few MB is answered as usual, and its connection serves the next request")
  void uploadNotCut() throws Exception {
    try (RawHttp http = new RawHttp(gateway.port())) {
      byte[] body = ("{\"pad\": \"" + "x".repeat(3 * 1024 * 1024) + "\"}").getBytes(StandardCharsets.UTF_8);
      http.send("POST /webhooks/hooks/ci HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          + "x-switchboard-timestamp: 1\r\nx-switchboard-signature: sha256=00\r\nContent-Length: " + body.length + "\r\n\r\n");
      http.send(body);
      RawHttp.Answer a = http.readResponse(WAIT);
      assertTrue(a.status() > 0 && a.status() != 408, a.text());
      http.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
      assertEquals(200, http.readResponse(WAIT).status());
    }
  }

  @Test
  @DisplayName("a streamed answer slower than idle_timeout is not cut")
  void slowStreamNotCut() throws Exception {
    upstream.delay(Duration.ofMillis(2500));
    try (RawHttp http = new RawHttp(gateway.port())) {
      String body = "{\"model\":\"fake-model\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"one two three\"}]}";
      http.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + gateway.token("alice")
          + "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: "
          + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body);
      RawHttp.Answer a = http.readUntilClosed(WAIT);
      assertEquals(200, a.status(), a.text());
      assertTrue(a.text().contains("data: [DONE]"), a.text());
    } finally {
      upstream.delay(Duration.ZERO);
    }
  }
}
