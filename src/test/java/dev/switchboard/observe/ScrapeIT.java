package dev.switchboard.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * One scrape of {@code /metrics} after a representative mix of 20 requests: chat with and
 * without streaming, tasks, memories, a 404 and the open endpoints.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@DisplayName("A scrape of /metrics")
class ScrapeIT {

  /**
   * The budget for the scrape after the mix. Today's scrape is about 60 KB: the JVM meters are
   * ~25 KB whatever the traffic, and each route, method and status seen adds a latency histogram
   * of 15 buckets (~3 KB). The unfiltered scrape was 517 KB; 100 KB leaves room for a few more
   * routes and meters without letting per-request-kind buckets creep back.
   */
  static final int BUDGET_BYTES = 100 * 1024;

  Vertx vertx;
  FakeUpstream upstream;
  TestGateway gateway;
  WebClient web;
  String token;
  String scrape;

  @BeforeAll
  void mixOfRequests() throws Exception {
    vertx = Vertx.vertx();
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).start();
    web = WebClient.create(vertx);
    token = gateway.token("alice");
    // long-term memory opens in the background (503 "starting" until then): scrape a gateway that is ready
    long deadline = System.currentTimeMillis() + 30_000;
    while (get("/readyz").await(10, TimeUnit.SECONDS).statusCode() != 200) {
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError("not ready within 30 s: " + get("/readyz").await(10, TimeUnit.SECONDS).bodyAsString());
      }
      Thread.sleep(50);
    }
    for (int i = 0; i < 4; i++) {
      expect(200, post("/v1/chat/completions", chat(false)));
    }
    for (int i = 0; i < 3; i++) {
      expect(200, post("/v1/chat/completions", chat(true)));
    }
    for (int i = 0; i < 3; i++) {
      String id = expect(202, post("/api/v1/tasks", new JsonObject().put("input", "hello").put("model", "fake-model")))
          .bodyAsJsonObject().getString("id");
      expect(200, get("/api/v1/tasks/" + id));
    }
    skillTask();
    expect(201, post("/api/v1/memories", new JsonObject().put("content", "the weekly meeting is on Tuesday").put("scope", "user:alice")));
    expect(200, get("/api/v1/memories?scope=user:alice"));
    expect(200, get("/api/v1/memories/search?q=meeting&scope=user:alice"));
    expect(404, get("/no/such/page"));
    expect(404, get("/api/v1/tasks/no-such-task"));
    expect(200, get("/v1/models"));
    expect(200, get("/healthz"));
    expect(200, get("/readyz"));
    scrape = get("/metrics").await(10, TimeUnit.SECONDS).bodyAsString();
  }

  /** A task whose model calls one tool, so that the per-skill meters are in the scrape. */
  private void skillTask() throws Exception {
    upstream.script(body -> body.getJsonArray("messages").stream().anyMatch(m -> "tool".equals(((JsonObject) m).getString("role")))
        || !body.containsKey("tools") ? new JsonObject().put("content", "done")
        : new JsonObject().putNull("content").put("tool_calls", new JsonArray().add(new JsonObject().put("id", "c1")
            .put("type", "function").put("function", new JsonObject().put("name", "current_time").put("arguments", "{}")))));
    String id = expect(202, post("/api/v1/tasks", new JsonObject().put("input", "time?").put("model", "fake-model")
        .put("skills", new JsonArray().add("current_time")))).bodyAsJsonObject().getString("id");
    long deadline = System.currentTimeMillis() + 30_000;
    while (!"succeeded".equals(expect(200, get("/api/v1/tasks/" + id)).bodyAsJsonObject().getString("status"))) {
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError("the skill task did not succeed: " + get("/api/v1/tasks/" + id).await(10, TimeUnit.SECONDS).bodyAsString());
      }
      Thread.sleep(50);
    }
    upstream.script(null);
  }

  @AfterAll
  void stop() throws Exception {
    if (gateway != null) {
      gateway.close();
    }
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private static JsonObject chat(boolean stream) {
    return new JsonObject().put("model", "fake-model").put("stream", stream)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hi")));
  }

  private io.vertx.core.Future<HttpResponse<Buffer>> post(String path, JsonObject body) {
    return web.postAbs(gateway.url(path)).bearerTokenAuthentication(token).sendJsonObject(body);
  }

  private io.vertx.core.Future<HttpResponse<Buffer>> get(String path) {
    return web.getAbs(gateway.url(path)).bearerTokenAuthentication(token).send();
  }

  private static HttpResponse<Buffer> expect(int status, io.vertx.core.Future<HttpResponse<Buffer>> request) throws Exception {
    HttpResponse<Buffer> response = request.await(60, TimeUnit.SECONDS);
    assertEquals(status, response.statusCode(), response.bodyAsString());
    return response;
  }

  @Test
  @DisplayName("passes promtool check metrics without a single lint message")
  void promtoolClean() throws Exception {
    PromTool.Result result = PromTool.run(scrape, "check", "metrics");
    assertEquals("", result.output(), "promtool check metrics");
    assertEquals(0, result.exit(), "promtool exit code");
  }

  @Test
  @DisplayName("stays under " + BUDGET_BYTES / 1024 + " KB after 20 requests")
  void withinBudget() {
    int bytes = scrape.getBytes(StandardCharsets.UTF_8).length;
    System.out.println("scrape after the mix: " + bytes + " bytes");
    assertTrue(bytes < BUDGET_BYTES, "scrape is " + bytes + " bytes");
  }

  @Test
  @DisplayName("keeps the latency histograms dashboards and alerts use, and only counts and sums of sizes")
  void latencyBucketsOnly() {
    assertTrue(scrape.contains("vertx_http_server_response_time_seconds_bucket{"), "HTTP server latency histogram");
    assertTrue(scrape.contains("switchboard_model_requests_seconds_bucket{"), "upstream latency histogram");
    assertTrue(scrape.contains("switchboard_model_ttft_seconds_bucket{"), "time to first token histogram");
    assertTrue(scrape.contains("switchboard_gateway_overhead_seconds_bucket{"), "gateway overhead histogram");
    assertTrue(scrape.contains("switchboard_skill_duration_seconds_bucket{"), "skill latency histogram");
    assertTrue(scrape.contains("switchboard_skill_calls_total{"), "skill calls");
    assertTrue(scrape.contains("vertx_http_server_response_bytes_count{"), "response sizes are counted");
    assertTrue(!scrape.contains("_bytes_bucket{"), "no byte-size buckets");
    assertTrue(!scrape.contains("vertx_pool_usage_seconds_bucket{"), "no pool time buckets");
  }
}
