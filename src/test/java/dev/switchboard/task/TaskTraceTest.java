package dev.switchboard.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakeDingTalk;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The agent's trace as {@code GET /api/v1/tasks/{id}} shows it, the per-skill metrics a run
 * leaves in {@code /metrics}, and the agent budgets of switchboard.yaml; through HTTP against a
 * scripted fake model and robot, with the shipped built-in skills.
 */
@ExtendWith(VertxExtension.class)
@DisplayName("Agent trace, skill metrics and budgets of a task")
class TaskTraceTest {

  static final String SECRET = TaskFlowTest.SECRET;

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
  }

  @AfterEach
  void stop() {
    if (gateway != null) {
      gateway.close();
    }
  }

  private void boot(String switchboardYaml) {
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).dingtalk(dingtalk.webhook(), SECRET)
        .file("switchboard.yaml", switchboardYaml).start();
    token = gateway.token("alice");
  }

  @Test
  @DisplayName("a task whose model asks for tools gets a trace: model calls with provider and tokens, tool calls with redacted arguments, result sizes and errors, in order")
  void traceOfModelAndToolCalls() throws Exception {
    boot(TaskFlowTest.ONE_WORKER);
    upstream.script(body -> toolResults(body).isEmpty()
        ? toolTurn(List.of(
            call("c1", "current_time", new JsonObject().put("timezone", "Asia/Shanghai")
                .put("options", new JsonObject().put("api_key", "sk-live-1").put("note", "kept"))),
            call("c2", "http_fetch", new JsonObject().put("url", "http://127.0.0.1:9/x?token=q-s3cret")
                .put("headers", new JsonArray().add(new JsonObject().put("Authorization", "Bearer s3cret"))))))
        : new JsonObject().put("content", "done"));
    String id = submit(task("what time is it").put("skills", new JsonArray().add("current_time").add("http_fetch")));
    JsonObject task = await(id, Set.of("succeeded"));
    assertEquals("done", task.getString("result"));
    JsonArray trace = task.getJsonArray("trace");
    assertNotNull(trace, task.encode());
    assertEquals(List.of("model", "tool", "tool", "model"), trace.stream().map(s -> ((JsonObject) s).getString("type")).toList());

    JsonObject first = trace.getJsonObject(0);
    assertEquals("fake-model", first.getString("model"));
    assertEquals("default", first.getString("provider"));
    assertEquals(20, first.getLong("completion_tokens"), "the fake model counts ten tokens per tool call");
    assertEquals(first.getLong("prompt_tokens") + first.getLong("completion_tokens"), first.getLong("total_tokens"));
    assertNull(first.getString("error"));

    // what the skill answered is what the model was given back (it is small, so not cut)
    JsonArray results = toolResults(upstream.chatRequests().get(1));
    JsonObject time = trace.getJsonObject(1);
    assertEquals("current_time", time.getString("skill"));
    assertEquals(new JsonObject().put("timezone", "Asia/Shanghai")
        .put("options", new JsonObject().put("api_key", "[redacted]").put("note", "kept")), time.getJsonObject("arguments"));
    assertEquals(results.getJsonObject(0).getString("content").getBytes(StandardCharsets.UTF_8).length,
        time.getLong("result_bytes"));
    assertTrue(time.getLong("result_bytes") > 0);
    assertNull(time.getString("error"));
    assertFalse(time.getBoolean("cut"));
    assertTrue(time.getLong("latency_ms") >= 0);

    JsonObject fetch = trace.getJsonObject(2);
    assertEquals("http_fetch", fetch.getString("skill"));
    assertEquals("[redacted]", fetch.getJsonObject("arguments").getJsonArray("headers").getJsonObject(0).getString("Authorization"));
    assertEquals("http://127.0.0.1:9/x?token=[redacted]", fetch.getJsonObject("arguments").getString("url"));
    assertNotNull(fetch.getString("error"), "http_fetch refuses a host that is not listed");
    assertEquals(0, fetch.getLong("result_bytes"));
    assertFalse(task.encode().contains("s3cret") || task.encode().contains("sk-live-1"), "no secret in the task's answer");

    JsonObject last = trace.getJsonObject(3);
    assertEquals("model", last.getString("type"));
    assertNull(last.getString("error"));
  }

  @Test
  @DisplayName("a run leaves per-skill call counts and durations in /metrics; a tool name the registry does not know is counted as other")
  void skillMetrics() throws Exception {
    boot(TaskFlowTest.ONE_WORKER);
    upstream.script(body -> toolResults(body).isEmpty()
        ? toolTurn(List.of(call("c1", "current_time", new JsonObject()), call("c2", "http_fetch", new JsonObject()),
            call("c3", "made_up_tool_" + System.nanoTime(), new JsonObject())))
        : new JsonObject().put("content", "done"));
    String before = scrape();
    String id = submit(task("count the skills").put("skills", new JsonArray().add("current_time").add("http_fetch")));
    await(id, Set.of("succeeded"));
    String after = scrape();
    String ok = "switchboard_skill_calls_total{outcome=\"ok\",skill=\"current_time\"}";
    String error = "switchboard_skill_calls_total{outcome=\"error\",skill=\"http_fetch\"}";
    String other = "switchboard_skill_calls_total{outcome=\"error\",skill=\"other\"}";
    String count = "switchboard_skill_duration_seconds_count{skill=\"current_time\"}";
    // the registry outlives one gateway in this JVM: what this run added, not the totals
    assertEquals(1, value(after, ok) - value(before, ok), ok);
    assertEquals(1, value(after, error) - value(before, error), error);
    assertEquals(1, value(after, other) - value(before, other), other);
    assertEquals(1, value(after, count) - value(before, count), count);
    assertTrue(after.contains("switchboard_skill_duration_seconds_bucket{skill=\"current_time\",le="), "a histogram");
    assertFalse(after.contains("made_up_tool_"), "the model's made-up name is no label");
  }

  @Test
  @DisplayName("agent.steps in switchboard.yaml stops a runaway model; the answer and the trace say which budget")
  void stepBudgetFromConfig() throws Exception {
    boot(TaskFlowTest.ONE_WORKER + "agent:\n  steps: 2\n");
    upstream.script(body -> body.containsKey("tools")
        ? toolTurn(List.of(call("c" + System.nanoTime(), "current_time", new JsonObject())))
        : new JsonObject().put("content", "what I have"));
    String id = submit(task("loop forever").put("skills", new JsonArray().add("current_time")));
    JsonObject task = await(id, Set.of("succeeded"));
    assertEquals("what I have\n\n(stopped: step budget of 2 used)", task.getString("result"));
    assertEquals(3, upstream.chatRequestCount(), "two calls with tools, one without");
    JsonArray trace = task.getJsonArray("trace");
    assertEquals(List.of("model", "tool", "model", "tool", "budget", "model"),
        trace.stream().map(s -> ((JsonObject) s).getString("type")).toList());
    assertEquals("steps", trace.getJsonObject(4).getString("budget"));
  }

  @Test
  @DisplayName("a task that fails keeps the trace of its last attempt, with the model call's error")
  void failedTaskKeepsItsTrace() throws Exception {
    boot(TaskFlowTest.ONE_WORKER);
    upstream.respondWith(400, "{\"error\":{\"message\":\"bad request\",\"type\":\"invalid_request_error\"}}");
    String id = submit(task("refused"));
    JsonObject task = await(id, Set.of("failed"));
    JsonArray trace = task.getJsonArray("trace");
    assertNotNull(trace, task.encode());
    assertEquals(1, trace.size(), trace.encode());
    assertEquals("model", trace.getJsonObject(0).getString("type"));
    String error = trace.getJsonObject(0).getString("error");
    assertTrue(error != null && error.startsWith("400 "), "the status and the failure's words: " + error);
    assertFalse(error.startsWith("400 {"), "not the bus's encoding: " + error);
  }

  @Test
  @DisplayName("a task that made no model call has no trace")
  void noModelCallNoTrace() throws Exception {
    boot(TaskFlowTest.ONE_WORKER);
    String id = submit(task("later").put("delay", "1h"));
    JsonObject task = getPath("/api/v1/tasks/" + id).bodyAsJsonObject();
    assertFalse(task.containsKey("trace"), task.encode());
  }

  // ---------------------------------------------------------------------------------------------

  private String submit(JsonObject task) throws Exception {
    HttpResponse<Buffer> r = web.postAbs(gateway.url("/api/v1/tasks")).bearerTokenAuthentication(token).sendJsonObject(task)
        .await(10, TimeUnit.SECONDS);
    assertEquals(202, r.statusCode(), r.bodyAsString());
    return r.bodyAsJsonObject().getString("id");
  }

  private HttpResponse<Buffer> getPath(String path) throws Exception {
    return web.getAbs(gateway.url(path)).bearerTokenAuthentication(token).send().await(10, TimeUnit.SECONDS);
  }

  private String scrape() throws Exception {
    return web.getAbs(gateway.url("/metrics")).send().await(10, TimeUnit.SECONDS).bodyAsString();
  }

  /** The sample's value in a scrape; 0 when the series is not there yet. */
  private static double value(String scrape, String series) {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(scrape);
    return m.find() ? Double.parseDouble(m.group(1)) : 0;
  }

  private static JsonObject task(String input) {
    return new JsonObject().put("input", input).put("model", "fake-model")
        .put("channels", new JsonArray().add(new JsonObject().put("type", "dingtalk").put("bot", "default")));
  }

  /** Polls until the task is in one of {@code statuses} with no push pending (bounded: 15 s). */
  private JsonObject await(String id, Set<String> statuses) throws Exception {
    long deadline = System.currentTimeMillis() + 15_000;
    JsonObject t;
    do {
      t = getPath("/api/v1/tasks/" + id).bodyAsJsonObject();
      boolean pushing = t.getJsonArray("deliveries", new JsonArray()).stream()
          .anyMatch(d -> "pending".equals(((JsonObject) d).getString("status")));
      if (statuses.contains(t.getString("status")) && !pushing) {
        return t;
      }
      Thread.sleep(25);
    } while (System.currentTimeMillis() < deadline);
    throw new AssertionError("task " + id + " stayed " + t.encode());
  }

  private static JsonArray toolResults(JsonObject body) {
    JsonArray out = new JsonArray();
    body.getJsonArray("messages").forEach(m -> {
      if (m instanceof JsonObject json && "tool".equals(json.getString("role"))) {
        out.add(json);
      }
    });
    return out;
  }

  private static JsonObject call(String id, String name, JsonObject arguments) {
    return new JsonObject().put("id", id).put("type", "function")
        .put("function", new JsonObject().put("name", name).put("arguments", arguments.encode()));
  }

  private static JsonObject toolTurn(List<JsonObject> calls) {
    return new JsonObject().putNull("content").put("tool_calls", new JsonArray(List.copyOf(calls)));
  }
}
