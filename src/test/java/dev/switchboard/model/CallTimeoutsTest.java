package dev.switchboard.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.FakeUpstream.Fault;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The dispatcher's timeouts, each against an upstream that stalls where that timeout applies, for
 * streamed and whole answers; and a client that goes away stops its call upstream. One provider
 * "a", one attempt, and a circuit that opens on the first failure charged to it.
 * ({@code retry.deadline}: see {@link DeadlineTest}, which covers both kinds.)
 */
@ExtendWith(VertxExtension.class)
@DisplayName("Each model timeout ends a call where it applies, and a client gone stops its call upstream")
class CallTimeoutsTest {

  FakeUpstream a;
  TestGateway gateway;
  WebClient web;
  final List<Socket> held = new ArrayList<>();

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    a = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    web = WebClient.create(vertx);
  }

  @AfterEach
  void stop() throws IOException {
    if (gateway != null) {
      gateway.close();
    }
    for (Socket s : held) {
      s.close();
    }
  }

  private void boot(String endpoint, String timeouts) {
    gateway = TestGateway.builder().file("model_provider.yaml", """
        providers:
          - name: "a"
            endpoint: "%s"
            auth: { type: "api_key", key: "key-a" }
            models: ["fake-model"]
            timeouts: { %s }
        groups:
          - name: "chat"
            deployments:
              - { provider: "a", model: "fake-model" }
        retry: { max_attempts: 1, deadline: 60s }
        circuit_breaker: { window: 60s, min_calls: 1, failure_rate: 0.5, cooldown: 1h }
        health_check: { interval: 1h }
        """.formatted(endpoint, timeouts)).start();
  }

  private static JsonObject chat(boolean stream) {
    return new JsonObject().put("model", "chat").put("stream", stream)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hi there")));
  }

  private HttpResponse<Buffer> post(boolean stream) throws Exception {
    return web.postAbs(gateway.url("/v1/chat/completions")).bearerTokenAuthentication(gateway.token("t"))
        .sendJsonObject(chat(stream)).await(30, TimeUnit.SECONDS);
  }

  private static String message(HttpResponse<Buffer> r) {
    return r.bodyAsJsonObject().getJsonObject("error").getString("message");
  }

  /** A port whose accept queue is full: connecting to it neither succeeds nor fails. */
  private String unacceptingEndpoint() throws IOException {
    ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
    held.add(new Socket() {
      @Override
      public synchronized void close() throws IOException {
        server.close();
      }
    });
    for (int i = 0; i < 16; i++) {
      Socket s = new Socket();
      held.add(s);
      try {
        s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort()), 200);
      } catch (IOException full) {
        return "http://127.0.0.1:" + server.getLocalPort() + "/v1";
      }
    }
    throw new IllegalStateException("the accept queue never filled");
  }

  private static void eventually(BooleanSupplier condition, String what) throws InterruptedException {
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > until) {
        throw new AssertionError(what);
      }
      Thread.sleep(20);
    }
  }

  @Test
  @DisplayName("connect: a whole answer from an upstream that never accepts the connection is a 502 naming the connect timeout")
  void connectTimeoutWhole() throws Exception {
    boot(unacceptingEndpoint(), "connect: 300ms, first_token: 20s, total: 20s");
    HttpResponse<Buffer> r = post(false);
    assertEquals(502, r.statusCode(), r.bodyAsString());
    assertTrue(message(r).matches("upstream 'a' is unreachable: .*timed out.*"), message(r));
  }

  @Test
  @DisplayName("connect: a stream from an upstream that never accepts the connection is a 502 naming the connect timeout")
  void connectTimeoutStream() throws Exception {
    boot(unacceptingEndpoint(), "connect: 300ms, first_token: 20s, total: 20s");
    HttpResponse<Buffer> r = post(true);
    assertEquals(502, r.statusCode(), r.bodyAsString());
    assertTrue(message(r).matches("upstream 'a' is unreachable: .*timed out.*"), message(r));
  }

  @Test
  @DisplayName("first_token: a stream whose upstream sends headers but no token is a 504 naming first_token's wait")
  void firstTokenStream() throws Exception {
    a.fault(Fault.STALL_AFTER_HEADERS);
    boot(a.baseUrl(), "connect: 5s, first_token: 500ms, total: 20s");
    HttpResponse<Buffer> r = post(true);
    assertEquals(504, r.statusCode(), r.bodyAsString());
    assertTrue(message(r).matches("upstream 'a' sent no token within 500ms \\(1 attempt over \\d+\\.\\ds\\)"), message(r));
  }

  @Test
  @DisplayName("first_token: does not cut a whole answer that comes after it, within total")
  void firstTokenDoesNotApplyToWholeAnswers() throws Exception {
    a.delay(Duration.ofMillis(900));
    boot(a.baseUrl(), "connect: 5s, first_token: 300ms, total: 20s");
    HttpResponse<Buffer> r = post(false);
    assertEquals(200, r.statusCode(), r.bodyAsString());
  }

  @Test
  @DisplayName("total: a whole answer that does not come in time is a 504 naming total, and its connection is closed")
  void totalWhole() throws Exception {
    a.fault(Fault.STALL_BEFORE_FIRST_TOKEN);
    boot(a.baseUrl(), "connect: 5s, first_token: 300ms, total: 800ms");
    HttpResponse<Buffer> r = post(false);
    assertEquals(504, r.statusCode(), r.bodyAsString());
    assertTrue(message(r).matches("upstream 'a' did not answer within 800ms \\(1 attempt over \\d+\\.\\ds\\)"), message(r));
    eventually(() -> a.closedConnections() >= 1, "the upstream connection was not closed");
  }

  @Test
  @DisplayName("total: a stream still running at total ends with an error event and [DONE], and its connection is closed")
  void totalStream() throws Exception {
    a.fault(Fault.TRICKLE);
    boot(a.baseUrl(), "connect: 5s, first_token: 5s, total: 800ms");
    HttpResponse<Buffer> r = post(true);
    assertEquals(200, r.statusCode(), r.bodyAsString());
    String body = r.bodyAsString();
    assertTrue(body.contains("upstream 'a' did not answer within 800ms"), body);
    assertTrue(body.endsWith("data: [DONE]\n\n"), body);
    eventually(() -> a.closedConnections() >= 1, "the upstream connection was not closed");
  }

  /** Sends a chat on a raw connection, waits until the upstream has it, and drops the connection. */
  private void leaveMidCall(boolean stream) throws Exception {
    int before = a.chatRequestCount();
    byte[] bytes = chat(stream).encode().getBytes(StandardCharsets.UTF_8);
    try (Socket socket = new Socket("127.0.0.1", gateway.port())) {
      socket.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
          + gateway.token("t") + "\r\nContent-Type: application/json\r\nContent-Length: " + bytes.length + "\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      socket.getOutputStream().write(bytes);
      eventually(() -> a.chatRequestCount() > before, "the call never reached the upstream");
      socket.setSoLinger(true, 0);
    }
  }

  @Test
  @DisplayName("a client that stops reading a stream pauses its upstream: what the upstream sends stays bounded")
  void slowReaderPausesTheUpstream() throws Exception {
    a.fault(Fault.FLOOD);
    boot(a.baseUrl(), "connect: 5s, first_token: 60s, total: 60s");
    byte[] bytes = chat(true).encode().getBytes(StandardCharsets.UTF_8);
    try (Socket socket = new Socket("127.0.0.1", gateway.port())) {
      socket.setReceiveBufferSize(64 * 1024);
      socket.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
          + gateway.token("t") + "\r\nContent-Type: application/json\r\nContent-Length: " + bytes.length + "\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      socket.getOutputStream().write(bytes);
      eventually(() -> a.endlessBytes() > 0, "the upstream never started");
      // the client reads nothing more: once the buffers on the way are full, the upstream waits
      long seen;
      do {
        seen = a.endlessBytes();
        Thread.sleep(500);
      } while (a.endlessBytes() != seen && seen < 256L * 1024 * 1024);
      assertTrue(seen < 64L * 1024 * 1024, "the upstream was read on for a client that reads nothing: " + seen + " bytes");
      socket.setSoLinger(true, 0);
    }
  }

  @Test
  @DisplayName("a client gone during a whole answer resets the upstream request, and the deployment is not charged for it")
  void clientGoneWhole() throws Exception {
    a.fault(Fault.STALL_BEFORE_FIRST_TOKEN);
    boot(a.baseUrl(), "connect: 5s, first_token: 60s, total: 60s");
    int closed = a.closedConnections();
    leaveMidCall(false);
    eventually(() -> a.closedConnections() > closed, "the upstream request kept running after its client left");
    a.fault(Fault.NONE);
    assertEquals(200, post(false).statusCode(), "the circuit opened: the cancel was charged as a failure");
  }

  @Test
  @DisplayName("a client gone during a stream resets the upstream request, and the deployment is not charged for it")
  void clientGoneStream() throws Exception {
    a.fault(Fault.STALL_AFTER_HEADERS);
    boot(a.baseUrl(), "connect: 5s, first_token: 60s, total: 60s");
    int closed = a.closedConnections();
    leaveMidCall(true);
    eventually(() -> a.closedConnections() > closed, "the upstream request kept running after its client left");
    a.fault(Fault.NONE);
    assertEquals(200, post(true).statusCode(), "the circuit opened: the cancel was charged as a failure");
  }
}
