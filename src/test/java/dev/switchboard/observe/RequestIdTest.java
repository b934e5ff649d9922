package dev.switchboard.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakeDingTalk;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.LogCapture;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** x-request-id: accepted or made at the edge, returned on every response, and carried by the work it starts. */
@ExtendWith(VertxExtension.class)
@DisplayName("Request ids")
class RequestIdTest {

  static final String DINGTALK_SECRET = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd";

  FakeUpstream upstream;
  FakeDingTalk dingtalk;
  TestGateway gateway;
  WebClient web;
  String token;
  LogCapture logs;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    dingtalk = FakeDingTalk.start(vertx, DINGTALK_SECRET).await(10, TimeUnit.SECONDS);
    web = WebClient.create(vertx);
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).dingtalk(dingtalk.webhook(), DINGTALK_SECRET)
        .file("switchboard.yaml", "queue: { workers: 1 }\n").start();
    token = gateway.token("alice");
    logs = LogCapture.json();
  }

  @AfterEach
  void stop() {
    logs.close();
    gateway.close();
  }

  private HttpResponse<Buffer> chat(String requestId, boolean stream) throws Exception {
    var request = web.postAbs(gateway.url("/v1/chat/completions")).bearerTokenAuthentication(token);
    if (requestId != null) {
      request.putHeader("x-request-id", requestId);
    }
    return request.sendJsonObject(new JsonObject().put("model", "fake-model").put("stream", stream)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hi"))))
        .await(20, TimeUnit.SECONDS);
  }

  /** Polls (bounded: 15 s) until {@code found} is true. */
  private static void eventually(Supplier<Boolean> found, Supplier<String> what) throws InterruptedException {
    long deadline = System.currentTimeMillis() + 15_000;
    while (!found.get()) {
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError(what.get());
      }
      Thread.sleep(25);
    }
  }

  @Test
  @DisplayName("a client's x-request-id is returned as it was sent")
  void accepted() throws Exception {
    HttpResponse<Buffer> r = chat("client-req.42:abc_DEF", false);
    assertEquals(200, r.statusCode(), r.bodyAsString());
    assertEquals("client-req.42:abc_DEF", r.getHeader("x-request-id"));
  }

  @Test
  @DisplayName("without one, each response gets a fresh id")
  void generated() throws Exception {
    String first = chat(null, false).getHeader("x-request-id");
    String second = web.getAbs(gateway.url("/healthz")).send().await(10, TimeUnit.SECONDS).getHeader("x-request-id");
    assertNotNull(first);
    assertNotNull(second);
    assertNotEquals(first, second);
    assertTrue(RequestIds.valid(first), first);
  }

  @Test
  @DisplayName("an id too long or with other characters is replaced, not echoed")
  void invalidReplaced() throws Exception {
    for (String bad : List.of("x".repeat(129), "has space", "quote\"d", "new\\nline", "ünïcode")) {
      String got = chat(bad, false).getHeader("x-request-id");
      assertNotNull(got);
      assertNotEquals(bad, got);
      assertTrue(RequestIds.valid(got), got);
    }
    assertEquals("x".repeat(128), chat("x".repeat(128), false).getHeader("x-request-id"));
  }

  @Test
  @DisplayName("error responses carry it: 401, 404, 400")
  void onErrors() throws Exception {
    HttpResponse<Buffer> unauthorized = web.getAbs(gateway.url("/v1/models")).bearerTokenAuthentication("nope")
        .putHeader("x-request-id", "err-401").send().await(10, TimeUnit.SECONDS);
    assertEquals(401, unauthorized.statusCode());
    assertEquals("err-401", unauthorized.getHeader("x-request-id"));
    HttpResponse<Buffer> missing = web.getAbs(gateway.url("/nowhere")).putHeader("x-request-id", "err-404")
        .send().await(10, TimeUnit.SECONDS);
    assertEquals(404, missing.statusCode());
    assertEquals("err-404", missing.getHeader("x-request-id"));
    HttpResponse<Buffer> bad = web.postAbs(gateway.url("/v1/chat/completions")).bearerTokenAuthentication(token)
        .putHeader("x-request-id", "err-400").sendBuffer(Buffer.buffer("{not json")).await(10, TimeUnit.SECONDS);
    assertEquals(400, bad.statusCode());
    assertEquals("err-400", bad.getHeader("x-request-id"));
    HttpResponse<Buffer> hook = web.postAbs(gateway.url("/webhooks/hooks/nosuch")).putHeader("x-request-id", "err-hook")
        .sendBuffer(Buffer.buffer("{}")).await(10, TimeUnit.SECONDS);
    assertTrue(hook.statusCode() >= 400, hook.bodyAsString());
    assertEquals("err-hook", hook.getHeader("x-request-id"));
  }

  @Test
  @DisplayName("a request the server cannot decode (headers too large) gets one too")
  void onUndecodable() throws Exception {
    HttpResponse<Buffer> tooLarge = web.getAbs(gateway.url("/healthz")).putHeader("x-request-id", "err-431")
        .putHeader("x-padding", "p".repeat(64 * 1024)).send().await(10, TimeUnit.SECONDS);
    assertEquals(431, tooLarge.statusCode(), tooLarge.bodyAsString());
    assertNotNull(tooLarge.getHeader("x-request-id"));
    assertTrue(RequestIds.valid(tooLarge.getHeader("x-request-id")), tooLarge.getHeader("x-request-id"));
  }

  @Test
  @DisplayName("the http_request line names the route template and the status, also of a refused request")
  void requestLine() throws Exception {
    web.getAbs(gateway.url("/api/v1/tasks/abc123?secret=s3cr3t")).bearerTokenAuthentication("nope")
        .putHeader("x-request-id", "line-401").send().await(10, TimeUnit.SECONDS);
    web.getAbs(gateway.url("/nowhere/at/all")).putHeader("x-request-id", "line-404").send().await(10, TimeUnit.SECONDS);
    eventually(() -> logs.events("http_request").stream().filter(l -> l.getString("request_id").startsWith("line-")).count() >= 2,
        logs::all);
    JsonObject refused = logs.events("http_request").stream().filter(l -> "line-401".equals(l.getString("request_id")))
        .findFirst().orElseThrow();
    assertEquals(401, refused.getInteger("status"));
    assertEquals("/api/v1/tasks/:id", refused.getString("route"), refused.encode());
    JsonObject unmatched = logs.events("http_request").stream().filter(l -> "line-404".equals(l.getString("request_id")))
        .findFirst().orElseThrow();
    assertEquals(404, unmatched.getInteger("status"));
    assertEquals("unmatched", unmatched.getString("route"), unmatched.encode());
    assertFalse(refused.encode().contains("s3cr3t"), refused.encode());
  }

  @Test
  @DisplayName("a stream (SSE) carries it")
  void onStreams() throws Exception {
    HttpResponse<Buffer> r = chat("sse-1", true);
    assertEquals(200, r.statusCode(), r.bodyAsString());
    assertTrue(r.getHeader("content-type").startsWith("text/event-stream"));
    assertEquals("sse-1", r.getHeader("x-request-id"));
  }

  @Test
  @DisplayName("a chat's model-call line and its upstream request carry the chat's id")
  void followsChat() throws Exception {
    chat("chat-follow-1", false);
    eventually(() -> logs.events("model_call").stream().anyMatch(l -> "chat-follow-1".equals(l.getString("request_id"))),
        () -> "no model_call line with the id in:\n" + logs.all());
    JsonObject call = logs.events("model_call").stream()
        .filter(l -> "chat-follow-1".equals(l.getString("request_id"))).findFirst().orElseThrow();
    assertEquals("ok", call.getString("outcome"), call.encode());
    assertNotNull(call.getString("provider"));
    assertEquals("chat-follow-1", upstream.chatHeaders().get(upstream.chatHeaders().size() - 1).get("x-request-id"));
    // written when the response has ended, which may be just after the client has it
    eventually(() -> logs.events("http_request").stream().anyMatch(l -> "chat-follow-1".equals(l.getString("request_id"))),
        logs::all);
    JsonObject request = logs.events("http_request").stream()
        .filter(l -> "chat-follow-1".equals(l.getString("request_id"))).findFirst().orElseThrow();
    assertEquals("/v1/chat/completions", request.getString("route"));
    assertEquals(200, request.getInteger("status"));
    assertEquals("POST", request.getString("method"));
  }

  @Test
  @DisplayName("concurrent chats keep their own ids: each upstream request and model-call line has its chat's, none another's")
  void concurrentChatsKeepTheirOwn() throws Exception {
    int n = 20;
    List<io.vertx.core.Future<HttpResponse<Buffer>>> sent = new java.util.ArrayList<>();
    for (int i = 0; i < n; i++) {
      sent.add(web.postAbs(gateway.url("/v1/chat/completions")).bearerTokenAuthentication(token).putHeader("x-request-id", "conc-" + i)
          .sendJsonObject(new JsonObject().put("model", "fake-model").put("stream", i % 2 == 0)
              .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hi " + i)))));
    }
    io.vertx.core.Future.all(sent).await(30, TimeUnit.SECONDS);
    java.util.Set<String> expected = new java.util.HashSet<>();
    for (int i = 0; i < n; i++) {
      expected.add("conc-" + i);
      assertEquals("conc-" + i, sent.get(i).result().getHeader("x-request-id"));
    }
    List<String> upstreamIds = upstream.chatHeaders().stream().map(h -> h.get("x-request-id"))
        .filter(id -> id != null && id.startsWith("conc-")).toList();
    assertEquals(expected, new java.util.HashSet<>(upstreamIds), "one upstream request per chat, each with its own id");
    assertEquals(n, upstreamIds.size(), upstreamIds.toString());
    eventually(() -> logs.events("model_call").stream().filter(l -> String.valueOf(l.getString("request_id")).startsWith("conc-")).count() >= n,
        logs::all);
    List<String> lineIds = logs.events("model_call").stream().map(l -> l.getString("request_id"))
        .filter(id -> id != null && id.startsWith("conc-")).toList();
    assertEquals(expected, new java.util.HashSet<>(lineIds), lineIds.toString());
    assertEquals(n, lineIds.size(), lineIds.toString());
  }

  @Test
  @DisplayName("a task keeps its submitter's id: shown by GET, on its run, its model call and its push")
  void followsTask() throws Exception {
    HttpResponse<Buffer> submitted = web.postAbs(gateway.url("/api/v1/tasks")).bearerTokenAuthentication(token)
        .putHeader("x-request-id", "task-follow-1")
        .sendJsonObject(new JsonObject().put("input", "日报").put("model", "fake-model")
            .put("channels", new JsonArray().add(new JsonObject().put("type", "dingtalk").put("bot", "default"))))
        .await(10, TimeUnit.SECONDS);
    assertEquals(202, submitted.statusCode(), submitted.bodyAsString());
    assertEquals("task-follow-1", submitted.getHeader("x-request-id"));
    String id = submitted.bodyAsJsonObject().getString("id");
    eventually(() -> logs.events("push").stream().anyMatch(l -> "task-follow-1".equals(l.getString("request_id"))),
        () -> "no push line with the id in:\n" + logs.all());
    JsonObject run = null;
    long deadline = System.currentTimeMillis() + 15_000;
    while (run == null && System.currentTimeMillis() < deadline) {
      run = logs.events("task_run").stream().filter(l -> "task-follow-1".equals(l.getString("request_id")))
          .findFirst().orElse(null);
      Thread.sleep(25);
    }
    assertNotNull(run, logs.all());
    assertEquals(id, run.getString("task_id"));
    assertEquals("succeeded", run.getString("outcome"));
    assertEquals(1, run.getInteger("attempt"));
    JsonObject push = logs.events("push").stream().filter(l -> "task-follow-1".equals(l.getString("request_id")))
        .findFirst().orElseThrow();
    assertEquals("dingtalk", push.getString("channel"));
    assertEquals("default", push.getString("bot"));
    assertEquals("delivered", push.getString("status"));
    assertEquals(id, push.getString("task_id"));
    assertTrue(logs.events("model_call").stream().anyMatch(l -> "task-follow-1".equals(l.getString("request_id"))
        && id.equals(l.getString("task_id"))), logs.all());
    JsonObject task = web.getAbs(gateway.url("/api/v1/tasks/" + id)).bearerTokenAuthentication(token).send()
        .await(10, TimeUnit.SECONDS).bodyAsJsonObject();
    assertEquals("task-follow-1", task.getString("request_id"), task.encode());
    assertFalse(logs.all().contains(DINGTALK_SECRET));
  }
}
