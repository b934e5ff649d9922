package dev.switchboard.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.cluster.Until;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * {@code deploy/nginx.conf} as shipped (only its machine-specific lines adapted, see {@link Nginx})
 * checked by Debian's nginx and then run in front of a real gateway, with the shipped
 * {@code switchboard.yaml} plus the SockJS bridge turned on. Clients speak TLS to nginx only.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@DisplayName("The nginx sample in front of the gateway")
class NginxSampleIT {

  Vertx vertx;
  FakeUpstream upstream;
  TestGateway gateway;
  Nginx nginx;
  WebClient web;

  @BeforeAll
  void start() throws Exception {
    Nginx.requireInstalled();
    vertx = Vertx.vertx();
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    String shipped = Files.readString(Path.of("conf", "switchboard.yaml"));
    String withBridge = shipped.replace("sockjs: { enabled: false,", "sockjs: { enabled: true,");
    assertTrue(!withBridge.equals(shipped), "conf/switchboard.yaml has no 'sockjs: { enabled: false,' to turn on");
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).file("switchboard.yaml", withBridge).start();
    nginx = Nginx.prepare(gateway.port());
    Nginx.Result check = nginx.test();
    assertEquals(0, check.exit(), "nginx -t refused the sample:\n" + check.output());
    nginx.start();
    web = WebClient.create(vertx, new WebClientOptions().setSsl(true).setTrustAll(true).setVerifyHost(false)
        .setFollowRedirects(false));
  }

  @AfterEach
  void calm() {
    upstream.reset();
  }

  @AfterAll
  void stop() throws Exception {
    try {
      if (nginx != null) {
        nginx.close();
      }
    } finally {
      if (gateway != null) {
        gateway.close();
      }
      if (vertx != null) {
        vertx.close().await(10, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  @DisplayName("nginx -t accepts the sample")
  void syntax() throws Exception {
    Nginx.Result check = nginx.test();
    assertEquals(0, check.exit(), check.output());
    assertTrue(check.output().contains("test is successful"), check.output());
  }

  @Test
  @DisplayName("a chat goes through nginx over TLS and is answered by the gateway")
  void chat() throws Exception {
    String subject = subject();
    HttpResponse<Buffer> answer = post("/v1/chat/completions", subject, chat(false), null);
    assertEquals(200, answer.statusCode(), answer.bodyAsString());
    assertEquals("echo: hello through nginx",
        answer.bodyAsJsonObject().getJsonArray("choices").getJsonObject(0).getJsonObject("message").getString("content"));
  }

  @Test
  @DisplayName("a streamed chat's events reach the client one by one while the upstream is still streaming (not buffered)")
  void streamUnbuffered() throws Exception {
    // the upstream sends one small event every 100 ms and never ends: held back (gzip, a cache, a
    // buffer that must fill), the client would get nothing, or many events in one piece
    upstream.fault(FakeUpstream.Fault.TRICKLE);
    HttpClient client = vertx.createHttpClient(new HttpClientOptions().setSsl(true).setTrustAll(true).setVerifyHost(false));
    LinkedBlockingQueue<Buffer> pieces = new LinkedBlockingQueue<>();
    try {
      RequestOptions request = new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1").setPort(nginx.httpsPort)
          .setURI("/v1/chat/completions").putHeader("Authorization", "Bearer " + gateway.token(subject()))
          .putHeader("Content-Type", "application/json");
      HttpClientResponse response = client.request(request)
          .compose(req -> req.send(chat(true).toBuffer()).map(r -> {
            r.handler(pieces::add);
            return r;
          }))
          .await(20, TimeUnit.SECONDS);
      assertEquals(200, response.statusCode());
      assertTrue(response.getHeader("Content-Type").startsWith("text/event-stream"), response.getHeader("Content-Type"));
      int events = 0;
      int pieceCount = 0;
      StringBuilder seen = new StringBuilder();
      while (events < 3) {
        Buffer piece = pieces.poll(30, TimeUnit.SECONDS);
        assertNotNull(piece, "no event through nginx while the upstream streamed; so far: " + seen);
        seen.append(piece);
        int inPiece = count(piece.toString(), "tick");
        assertTrue(inPiece <= 2, "nginx handed over " + inPiece + " events at once (buffered): " + piece);
        events += inPiece;
        pieceCount++;
      }
      assertTrue(pieceCount >= 2, "three events arrived in one piece: " + seen);
      assertTrue(!seen.toString().contains("[DONE]"), "the upstream never finishes: " + seen);
    } finally {
      client.close().await(10, TimeUnit.SECONDS);
    }
  }

  @Test
  @DisplayName("the SockJS bridge's WebSocket is upgraded through nginx and frames go both ways")
  void sockJsWebSocket() throws Exception {
    var client = vertx.createWebSocketClient(new WebSocketClientOptions().setSsl(true).setTrustAll(true).setVerifyHost(false));
    LinkedBlockingQueue<JsonObject> frames = new LinkedBlockingQueue<>();
    try {
      WebSocketConnectOptions options = new WebSocketConnectOptions().setHost("127.0.0.1").setPort(nginx.httpsPort)
          .setSsl(true).setURI("/eventbus/websocket").addHeader("Authorization", "Bearer " + gateway.token(subject()));
      WebSocket ws = client.connect(options).await(20, TimeUnit.SECONDS);
      ws.binaryMessageHandler(data -> frames.add(data.toJsonObject()));
      ws.textMessageHandler(text -> frames.add(new JsonObject(text)));
      String reply = UUID.randomUUID().toString();
      ws.writeTextMessage(new JsonObject().put("type", "send").put("address", "switchboard.tasks.submit").put("replyAddress", reply)
          .put("body", new JsonObject().put("input", "over the bridge, through nginx").put("model", "fake-model")).encode())
          .await(10, TimeUnit.SECONDS);
      JsonObject frame = frames.poll(30, TimeUnit.SECONDS);
      assertNotNull(frame, "no answer over the upgraded connection");
      assertEquals(reply, frame.getString("address"), frame.encode());
      assertEquals("queued", frame.getJsonObject("body").getString("status"), frame.encode());
      ws.close().await(10, TimeUnit.SECONDS);
    } finally {
      client.close().await(10, TimeUnit.SECONDS);
    }
  }

  @Test
  @DisplayName("a client's x-request-id reaches the gateway (its audit record) and comes back in the answer")
  void requestIdPasses() throws Exception {
    String subject = subject();
    String id = "req-" + UUID.randomUUID();
    HttpResponse<Buffer> answer = post("/v1/chat/completions", subject, chat(false), id);
    assertEquals(200, answer.statusCode(), answer.bodyAsString());
    assertEquals(id, answer.getHeader("x-request-id"));
    assertEquals(1, answer.headers().getAll("x-request-id").size(), "one x-request-id header: " + answer.headers());
    Until.holds(Duration.ofSeconds(15), "an api.chat audit record with request_id " + id, () -> id.equals(auditedRequestId(subject)));
  }

  @Test
  @DisplayName("a request without x-request-id gets one from nginx, the same in the gateway's record and in the answer")
  void requestIdMade() throws Exception {
    String subject = subject();
    HttpResponse<Buffer> answer = post("/v1/chat/completions", subject, chat(false), null);
    assertEquals(200, answer.statusCode(), answer.bodyAsString());
    String id = answer.getHeader("x-request-id");
    assertNotNull(id, "no x-request-id in " + answer.headers());
    Until.holds(Duration.ofSeconds(15), "an api.chat audit record with request_id " + id, () -> id.equals(auditedRequestId(subject)));
  }

  @Test
  @DisplayName("a body larger than server.max_body_size (4mb) is refused by nginx with 413 and never reaches the gateway")
  void bodyLimit() throws Exception {
    int before = upstream.chatRequestCount();
    JsonObject big = chat(false);
    big.getJsonArray("messages").getJsonObject(0).put("content", "x".repeat(5 * 1024 * 1024));
    HttpResponse<Buffer> answer = post("/v1/chat/completions", subject(), big, null);
    assertEquals(413, answer.statusCode());
    assertEquals(before, upstream.chatRequestCount());
  }

  @Test
  @DisplayName("plain HTTP is redirected to HTTPS")
  void httpRedirects() throws Exception {
    HttpResponse<Buffer> answer = WebClient.create(vertx, new WebClientOptions().setFollowRedirects(false))
        .get(nginx.httpPort, "127.0.0.1", "/healthz").send().await(10, TimeUnit.SECONDS);
    assertEquals(301, answer.statusCode());
    assertTrue(answer.getHeader("Location").startsWith("https://"), answer.getHeader("Location"));
  }

  @Test
  @DisplayName("/metrics is not served on the public side")
  void metricsHidden() throws Exception {
    HttpResponse<Buffer> answer = web.get(nginx.httpsPort, "127.0.0.1", "/metrics").send().await(10, TimeUnit.SECONDS);
    assertEquals(404, answer.statusCode());
  }

  private HttpResponse<Buffer> post(String path, String subject, JsonObject body, String requestId) throws Exception {
    var request = web.post(nginx.httpsPort, "127.0.0.1", path).bearerTokenAuthentication(gateway.token(subject));
    if (requestId != null) {
      request.putHeader("x-request-id", requestId);
    }
    return request.sendJsonObject(body).await(30, TimeUnit.SECONDS);
  }

  /** The request id of the subject's api.chat record, asked of the gateway directly; null while there is none. */
  private String auditedRequestId(String subject) throws Exception {
    JsonArray data = WebClient.create(vertx).getAbs(gateway.url("/api/v1/audit?action=api.chat&subject=" + subject))
        .bearerTokenAuthentication(gateway.token("auditor")).send().await(10, TimeUnit.SECONDS).bodyAsJsonObject().getJsonArray("data");
    return data.isEmpty() ? null : data.getJsonObject(0).getString("request_id");
  }

  private static String subject() {
    return "nginx-" + UUID.randomUUID().toString().substring(0, 8);
  }

  private static JsonObject chat(boolean stream) {
    return new JsonObject().put("model", "fake-model").put("stream", stream)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hello through nginx")));
  }

  private static int count(String text, String word) {
    return (int) Pattern.compile(Pattern.quote(word)).matcher(text).results().count();
  }
}
