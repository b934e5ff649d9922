package dev.switchboard.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * security.rate_limits over HTTP, on the embedded profile: limits of one token an hour after a
 * small burst, so that what is refused is refused for the whole test. Each test uses subjects of
 * its own (the gateway is shared).
 */
@DisplayName("Rate limits over HTTP")
class RateLimitHttpTest {

  static final String LIMITS = """
        rate_limits:
          families: { tasks: { rate: 1, per: 1h, burst: 2 } }
          subjects: { "ci-bot": { rate: 1, per: 1h, burst: 3 } }
          webhooks_per_ip: { rate: 1, per: 1h, burst: 2 }
      """;

  static Vertx vertx;
  static WebClient web;
  static TestGateway gateway;

  /** The shipped switchboard.yaml with {@code limits} (indented two spaces) in its security section. */
  static String switchboardWith(String limits) throws Exception {
    String shipped = Files.readString(Path.of("conf", "switchboard.yaml"));
    assertTrue(shipped.contains("\nsecurity:\n"));
    return shipped.replace("\nsecurity:\n", "\nsecurity:\n" + limits);
  }

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    web = WebClient.create(vertx);
    gateway = TestGateway.builder().file("switchboard.yaml", switchboardWith(LIMITS)).start();
  }

  @AfterAll
  static void stop() throws Exception {
    gateway.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  static HttpResponse<Buffer> get(TestGateway g, String path, String subject) throws Exception {
    return web.getAbs(g.url(path)).bearerTokenAuthentication(g.token(subject)).send().await(10, TimeUnit.SECONDS);
  }

  static HttpResponse<Buffer> hook(TestGateway g) throws Exception {
    return web.postAbs(g.url("/webhooks/hooks/nobody")).putHeader("content-type", "application/json")
        .sendBuffer(Buffer.buffer("{\"status\":\"failed\"}")).await(10, TimeUnit.SECONDS);
  }

  /** The 429 as the official SDKs read it: status, Retry-After in whole seconds, OpenAI's error shape naming the wait. */
  static void assertRateLimited(HttpResponse<Buffer> r, String who) {
    assertEquals(429, r.statusCode(), r.bodyAsString());
    String retryAfter = r.getHeader("Retry-After");
    long seconds = Long.parseLong(retryAfter);
    assertTrue(seconds > 3000 && seconds <= 3600, "one token an hour: Retry-After " + retryAfter);
    assertTrue(r.getHeader("content-type").startsWith("application/json"), r.getHeader("content-type"));
    JsonObject error = r.bodyAsJsonObject().getJsonObject("error");
    assertEquals("rate_limit_exceeded", error.getString("type"), error.encode());
    assertEquals("rate_limit_exceeded", error.getString("code"), error.encode());
    assertEquals("rate limit exceeded for " + who + "; retry after " + seconds + " s", error.getString("message"));
  }

  @Test
  @DisplayName("a subject past its family's burst gets 429 with Retry-After and OpenAI's error shape")
  void familyLimit() throws Exception {
    for (int i = 0; i < 2; i++) {
      assertEquals(200, get(gateway, "/api/v1/tasks", "alice").statusCode(), "request " + i);
    }
    assertRateLimited(get(gateway, "/api/v1/tasks", "alice"), "subject 'alice' on tasks");
    assertRateLimited(get(gateway, "/api/v1/tasks/some-id", "alice"), "subject 'alice' on tasks");
  }

  @Test
  @DisplayName("another subject has a bucket of its own, and families without a limit are not limited")
  void bucketsPerSubjectAndFamily() throws Exception {
    for (int i = 0; i < 3; i++) {
      get(gateway, "/api/v1/tasks", "bob");
    }
    assertEquals(429, get(gateway, "/api/v1/tasks", "bob").statusCode());
    assertEquals(200, get(gateway, "/api/v1/tasks", "carol").statusCode(), "carol's bucket is hers");
    for (int i = 0; i < 5; i++) {
      assertEquals(200, get(gateway, "/api/v1/rules", "bob").statusCode(), "admin has no limit here");
    }
  }

  @Test
  @DisplayName("a subject with a limit of its own is held to it across every family")
  void subjectLimit() throws Exception {
    for (String path : List.of("/api/v1/tasks", "/api/v1/rules", "/api/v1/tasks")) {
      assertEquals(200, get(gateway, path, "ci-bot").statusCode(), path);
    }
    assertRateLimited(get(gateway, "/api/v1/rules", "ci-bot"), "subject 'ci-bot'");
  }

  @Test
  @DisplayName("a request without a valid token is refused 401 before it takes anything from a bucket")
  void authenticationFirst() throws Exception {
    for (int i = 0; i < 5; i++) {
      HttpResponse<Buffer> r = web.getAbs(gateway.url("/api/v1/tasks")).bearerTokenAuthentication("not-a-token")
          .send().await(10, TimeUnit.SECONDS);
      assertEquals(401, r.statusCode());
    }
  }

  @Test
  @DisplayName("a request its role does not allow is refused 403 before it takes anything from a bucket")
  void forbiddenTakesNothing() throws Exception {
    String client = RolesTest.token("ci-bot-client", new JsonObject().put("roles", new io.vertx.core.json.JsonArray().add("client")));
    for (int i = 0; i < 5; i++) {
      HttpResponse<Buffer> r = web.getAbs(gateway.url("/api/v1/rules")).bearerTokenAuthentication(client)
          .send().await(10, TimeUnit.SECONDS);
      assertEquals(403, r.statusCode(), r.bodyAsString());
    }
    for (int i = 0; i < 2; i++) {
      HttpResponse<Buffer> r = web.getAbs(gateway.url("/api/v1/tasks")).bearerTokenAuthentication(client)
          .send().await(10, TimeUnit.SECONDS);
      assertEquals(200, r.statusCode(), "its tasks bucket is still full: " + r.bodyAsString());
    }
  }

  @Test
  @DisplayName("a dot segment in the path does not move a request into another family's bucket")
  void dotSegmentsKeepTheFamily() throws Exception {
    // routed (and authorised) as /api/v1/tasks, so it takes from the tasks bucket, not chat's (which has no limit)
    for (int i = 0; i < 2; i++) {
      assertEquals(200, get(gateway, "/v1/../api/v1/tasks", "erin").statusCode(), "request " + i);
    }
    assertRateLimited(get(gateway, "/v1/../api/v1/tasks", "erin"), "subject 'erin' on tasks");
  }

  @Test
  @DisplayName("a dot segment in the path does not take a webhook request out of its client address's bucket")
  void dotSegmentsKeepWebhooksLimited() throws Exception {
    HttpResponse<Buffer> last = null;
    for (int i = 0; i < 3; i++) {
      last = web.postAbs(gateway.url("/v1/../webhooks/hooks/nobody")).putHeader("content-type", "application/json")
          .sendBuffer(Buffer.buffer("{\"status\":\"failed\"}")).await(10, TimeUnit.SECONDS);
    }
    assertRateLimited(last, "client address 127.0.0.1 on webhooks");
  }

  static HttpResponse<Buffer> mcp(String token, String session, JsonObject rpc) throws Exception {
    var request = web.postAbs(gateway.url("/mcp")).bearerTokenAuthentication(token)
        .putHeader("Accept", "application/json, text/event-stream").putHeader("MCP-Protocol-Version", "2025-06-18");
    if (session != null) {
      request.putHeader("Mcp-Session-Id", session);
    }
    return request.sendJsonObject(rpc.put("jsonrpc", "2.0").put("id", 1)).await(10, TimeUnit.SECONDS);
  }

  @Test
  @DisplayName("an MCP tool takes from the subject's bucket for the tool's family: submit_task and get_task count as tasks")
  void mcpToolsTakeFromTheirFamily() throws Exception {
    String token = gateway.token("frank");
    HttpResponse<Buffer> init = mcp(token, null, new JsonObject().put("method", "initialize").put("params", new JsonObject()
        .put("protocolVersion", "2025-06-18").put("capabilities", new JsonObject())
        .put("clientInfo", new JsonObject().put("name", "RateLimitHttpTest").put("version", "1"))));
    assertEquals(200, init.statusCode(), init.bodyAsString());
    String session = init.getHeader("Mcp-Session-Id");
    JsonObject call = new JsonObject().put("method", "tools/call")
        .put("params", new JsonObject().put("name", "get_task").put("arguments", new JsonObject().put("id", "none")));
    for (int i = 0; i < 2; i++) {
      JsonObject result = mcp(token, session, call.copy()).bodyAsJsonObject().getJsonObject("result");
      assertTrue(result.encode().contains("no task with id"), "request " + i + ": " + result.encode());
    }
    JsonObject limited = mcp(token, session, call.copy()).bodyAsJsonObject().getJsonObject("result");
    assertEquals(true, limited.getBoolean("isError"), limited.encode());
    assertTrue(limited.getJsonArray("content").getJsonObject(0).getString("text")
        .startsWith("get_task: rate limit exceeded for subject 'frank' on tasks; retry after "), limited.encode());
    assertRateLimited(get(gateway, "/api/v1/tasks", "frank"), "subject 'frank' on tasks");
  }

  @Test
  @DisplayName("webhooks are limited per client address, and the refusal is counted per family at /metrics")
  void webhooksPerAddress() throws Exception {
    TestGateway own = TestGateway.builder().file("switchboard.yaml", switchboardWith(LIMITS)).start();
    try {
      for (int i = 0; i < 2; i++) {
        assertNotEquals(429, hook(own).statusCode(), "request " + i);
      }
      assertRateLimited(hook(own), "client address 127.0.0.1 on webhooks");
      assertEquals(200, get(own, "/api/v1/tasks", "dave").statusCode(), "token routes are limited per subject, not per address");
      String metrics = web.getAbs(own.url("/metrics")).send().await(10, TimeUnit.SECONDS).bodyAsString();
      assertTrue(metrics.contains("switchboard_ratelimit_refused_total{family=\"webhooks\"} 1.0"), metrics);
      assertTrue(metrics.contains("switchboard_ratelimit_refused_total{family=\"tasks\"} 0.0"), "counted from 0");
    } finally {
      own.close();
    }
  }
}
