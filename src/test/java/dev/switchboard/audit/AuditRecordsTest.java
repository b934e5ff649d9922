package dev.switchboard.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.cluster.Until;
import dev.switchboard.testing.FakeDingTalk;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What a running gateway leaves in its audit log, read back through {@code GET /api/v1/audit}:
 * a chat, a task, a memory write and a refused token each leave their records, without bodies.
 */
@ExtendWith(VertxExtension.class)
@DisplayName("Audit records of a running gateway")
class AuditRecordsTest {

  static final String SECRET = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd";

  FakeUpstream upstream;
  FakeDingTalk dingtalk;
  TestGateway gateway;
  WebClient web;
  String token;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    dingtalk = FakeDingTalk.start(vertx, SECRET).await(10, TimeUnit.SECONDS);
    web = WebClient.create(vertx);
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).dingtalk(dingtalk.webhook(), SECRET).start();
    token = gateway.token("alice");
  }

  @AfterEach
  void stop() {
    if (gateway != null) {
      gateway.close();
    }
  }

  private HttpResponse<Buffer> send(HttpRequest<Buffer> request, JsonObject body) throws Exception {
    return (body == null ? request.send() : request.sendJsonObject(body)).await(10, TimeUnit.SECONDS);
  }

  private HttpResponse<Buffer> post(String path, JsonObject body, String requestId) throws Exception {
    return send(web.postAbs(gateway.url(path)).bearerTokenAuthentication(token).putHeader("x-request-id", requestId), body);
  }

  private HttpResponse<Buffer> get(String path) throws Exception {
    return send(web.getAbs(gateway.url(path)).bearerTokenAuthentication(token), null);
  }

  private JsonArray records(String query) throws Exception {
    HttpResponse<Buffer> r = get("/api/v1/audit" + query);
    assertEquals(200, r.statusCode(), r.bodyAsString());
    return r.bodyAsJsonObject().getJsonArray("data");
  }

  private JsonObject only(String query) throws Exception {
    JsonArray data = records(query);
    assertEquals(1, data.size(), data.encodePrettily());
    return data.getJsonObject(0);
  }

  private void eventually(String what, String query, int count) {
    Until.holds(Duration.ofSeconds(15), what, () -> records(query).size() >= count);
  }

  @Test
  @DisplayName("a chat leaves the API request (caller, request id, status, sizes) and the model call")
  void chatIsRecorded() throws Exception {
    HttpResponse<Buffer> chat = post("/v1/chat/completions", new JsonObject().put("model", "fake-model")
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "words only the user knows"))), "req-chat-1");
    assertEquals(200, chat.statusCode(), chat.bodyAsString());

    eventually("the chat's records", "?action=model.call", 1);
    eventually("the chat's records", "?action=api.chat", 1);
    JsonObject request = only("?action=api.chat");
    assertEquals("alice", request.getString("subject"));
    assertEquals("ok", request.getString("outcome"));
    assertEquals("req-chat-1", request.getString("request_id"));
    assertEquals("200", request.getJsonObject("details").getString("status"));
    assertTrue(request.getJsonObject("sizes").getLong("request_bytes") > 0, request.encode());
    assertTrue(request.getJsonObject("sizes").getLong("response_bytes") > 0, request.encode());
    JsonObject call = only("?action=model.call");
    assertEquals("alice", call.getString("subject"));
    assertEquals("ok", call.getString("outcome"));
    assertEquals("req-chat-1", call.getString("request_id"), "the model call is found from the client's request");
    assertFalse(records("").encode().contains("words only the user knows"), "no message bodies by default");
  }

  @Test
  @DisplayName("a task leaves its submission and its success")
  void taskIsRecorded() throws Exception {
    HttpResponse<Buffer> r = post("/api/v1/tasks", new JsonObject().put("input", "hello").put("model", "fake-model")
        .put("channels", new JsonArray().add(new JsonObject().put("type", "dingtalk").put("bot", "default"))), "req-task-1");
    assertEquals(202, r.statusCode(), r.bodyAsString());
    String id = r.bodyAsJsonObject().getString("id");

    eventually("the task's success", "?action=task.succeeded", 1);
    assertEquals(id, only("?action=api.task.submit").getString("target"));
    assertEquals("req-task-1", only("?action=api.task.submit").getString("request_id"));
    JsonObject submitted = only("?action=task.submitted");
    assertEquals(id, submitted.getString("target"));
    assertEquals("alice", submitted.getString("subject"));
    JsonObject succeeded = only("?action=task.succeeded");
    assertEquals(id, succeeded.getString("target"));
    assertEquals("ok", succeeded.getString("outcome"));
    eventually("the task's push", "?action=push.delivered", 1);
    assertEquals(id, only("?action=push.delivered").getJsonObject("details").getString("task"));
  }

  @Test
  @DisplayName("a memory write leaves the API request and the write, with the memory's id")
  void memoryWriteIsRecorded() throws Exception {
    HttpResponse<Buffer> r = post("/api/v1/memories", new JsonObject().put("content", "alice drinks tea").put("scope", "user:alice"),
        "req-mem-1");
    assertEquals(201, r.statusCode(), r.bodyAsString());
    String id = r.bodyAsJsonObject().getString("id");

    eventually("the memory write", "?action=memory.write", 1);
    JsonObject write = only("?action=memory.write");
    assertEquals(id, write.getString("target"));
    assertEquals("created", write.getString("outcome"));
    assertEquals("user:alice", write.getJsonObject("details").getString("scope"));
    assertEquals(id, only("?action=api.memory.add").getString("target"));
    assertFalse(records("").encode().contains("drinks tea"), "no memory content");
  }

  @Test
  @DisplayName("a refused token leaves an authentication failure with the reason, and no subject")
  void authenticationFailureIsRecorded() throws Exception {
    HttpResponse<Buffer> r = send(web.getAbs(gateway.url("/api/v1/tasks")).bearerTokenAuthentication("not-a-jwt")
        .putHeader("x-request-id", "req-401"), null);
    assertEquals(401, r.statusCode());

    eventually("the authentication failure", "?action=auth.failure", 1);
    JsonObject failure = only("?action=auth.failure");
    assertEquals("", failure.getString("subject"));
    assertEquals("/api/v1/tasks", failure.getString("target"));
    assertEquals("refused", failure.getString("outcome"));
    assertEquals("req-401", failure.getString("request_id"));
    assertTrue(failure.getJsonObject("details").getString("reason").startsWith("invalid token"), failure.encode());
    assertFalse(failure.encode().contains("not-a-jwt"), "the token itself is not kept");
  }

  @Test
  @DisplayName("reads are not recorded; listings filter by subject and page with an opaque cursor")
  void listingPagesAndFilters() throws Exception {
    for (int i = 0; i < 3; i++) {
      assertEquals(401, send(web.getAbs(gateway.url("/api/v1/rules")), null).statusCode());
    }
    assertEquals(200, get("/api/v1/rules").statusCode());
    eventually("three failures", "?action=auth.failure", 3);

    assertEquals(List.of(), records("?subject=alice").stream().toList(), "alice only read");
    HttpResponse<Buffer> first = get("/api/v1/audit?limit=2");
    JsonArray page = first.bodyAsJsonObject().getJsonArray("data");
    assertEquals(2, page.size());
    String cursor = first.bodyAsJsonObject().getString("next_cursor");
    assertNotNull(cursor);
    HttpResponse<Buffer> second = get("/api/v1/audit?limit=2&cursor=" + cursor);
    assertEquals(1, second.bodyAsJsonObject().getJsonArray("data").size());
    assertNull(second.bodyAsJsonObject().getString("next_cursor"));
    assertTrue(page.getJsonObject(0).getLong("seq") > page.getJsonObject(1).getLong("seq"), "newest first");
    assertEquals(0, records("?since=2999-01-01T00:00:00Z").size());
  }

  @Test
  @DisplayName("a bad limit, since or cursor is a 400 naming it; no token is a 401")
  void badQueriesAreRefused() throws Exception {
    assertEquals("invalid_limit", error(get("/api/v1/audit?limit=0")));
    assertEquals("invalid_limit", error(get("/api/v1/audit?limit=1001")));
    assertEquals("invalid_since", error(get("/api/v1/audit?since=yesterday")));
    assertEquals("invalid_cursor", error(get("/api/v1/audit?cursor=abc")));
    assertEquals(401, send(web.getAbs(gateway.url("/api/v1/audit")), null).statusCode());
  }

  private static String error(HttpResponse<Buffer> r) {
    assertEquals(400, r.statusCode(), r.bodyAsString());
    return r.bodyAsJsonObject().getJsonObject("error").getString("code");
  }

  @Test
  @DisplayName("/readyz has an audit entry that is up")
  void readyzHasAudit() throws Exception {
    HttpResponse<Buffer> r = send(web.getAbs(gateway.url("/readyz")), null);
    JsonObject audit = r.bodyAsJsonObject().getJsonObject("components").getJsonObject("audit");
    assertEquals("up", audit.getString("status"), r.bodyAsString());
    assertEquals("file", audit.getString("store"));
    assertEquals(0L, audit.getLong("spooled"));
  }
}
