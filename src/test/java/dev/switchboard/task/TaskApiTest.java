package dev.switchboard.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The task API beyond submit and get: cancel, retry by hand, listing, run_at and max_attempts,
 * and the instance in /readyz and /api/v1/cluster; through HTTP against a fake model and robot.
 */
@ExtendWith(VertxExtension.class)
@DisplayName("Task API")
class TaskApiTest {

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
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).dingtalk(dingtalk.webhook(), SECRET)
        .file("switchboard.yaml", TaskFlowTest.ONE_WORKER).start();
    token = gateway.token("alice");
  }

  @AfterEach
  void stop() {
    if (gateway != null) {
      gateway.close();
    }
  }

  private HttpResponse<Buffer> post(String path, JsonObject body) throws Exception {
    var request = web.postAbs(gateway.url(path)).bearerTokenAuthentication(token);
    return (body == null ? request.send() : request.sendJsonObject(body)).await(10, TimeUnit.SECONDS);
  }

  private HttpResponse<Buffer> getPath(String path) throws Exception {
    return web.getAbs(gateway.url(path)).bearerTokenAuthentication(token).send().await(10, TimeUnit.SECONDS);
  }

  private String submit(JsonObject task) throws Exception {
    HttpResponse<Buffer> r = post("/api/v1/tasks", task);
    assertEquals(202, r.statusCode(), r.bodyAsString());
    return r.bodyAsJsonObject().getString("id");
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

  @Test
  @DisplayName("a queued task that is cancelled answers 200 with the task, never runs, and a second cancel is 409")
  void cancelQueued() throws Exception {
    String id = submit(task("later").put("delay", "1s"));
    HttpResponse<Buffer> r = post("/api/v1/tasks/" + id + "/cancel", null);
    assertEquals(200, r.statusCode(), r.bodyAsString());
    assertEquals("cancelled", r.bodyAsJsonObject().getString("status"));
    assertEquals(id, r.bodyAsJsonObject().getString("id"));
    Thread.sleep(1_500);
    assertEquals(0, upstream.chatRequestCount(), "a cancelled task is not run when its time comes");
    assertEquals("cancelled", getPath("/api/v1/tasks/" + id).bodyAsJsonObject().getString("status"));
    HttpResponse<Buffer> again = post("/api/v1/tasks/" + id + "/cancel", null);
    assertEquals(409, again.statusCode(), again.bodyAsString());
    assertTrue(again.bodyAsJsonObject().getJsonObject("error").getString("message").contains("cancelled"), again.bodyAsString());
  }

  @Test
  @DisplayName("a running task that is cancelled keeps no result and pushes nothing")
  void cancelRunning() throws Exception {
    upstream.delay(Duration.ofMillis(800));
    String id = submit(task("slow"));
    await(id, Set.of("running"));
    assertEquals(200, post("/api/v1/tasks/" + id + "/cancel", null).statusCode());
    Thread.sleep(1_300);
    JsonObject t = getPath("/api/v1/tasks/" + id).bodyAsJsonObject();
    assertEquals("cancelled", t.getString("status"), t.encode());
    assertNull(t.getString("result"), t.encode());
    assertEquals(1, upstream.chatRequestCount(), "the model was called once");
    assertEquals(0, dingtalk.pushes().size(), "the discarded answer is not pushed");
  }

  @Test
  @DisplayName("a cancelled task retried by hand answers 202 and runs to success; retrying a succeeded task is 409")
  void retryByHand() throws Exception {
    String id = submit(task("again").put("delay", "5s"));
    assertEquals(200, post("/api/v1/tasks/" + id + "/cancel", null).statusCode());
    HttpResponse<Buffer> r = post("/api/v1/tasks/" + id + "/retry", null);
    assertEquals(202, r.statusCode(), r.bodyAsString());
    assertEquals("queued", r.bodyAsJsonObject().getString("status"));
    JsonObject done = await(id, Set.of("succeeded", "failed"));
    assertEquals("succeeded", done.getString("status"), done.encode());
    assertEquals("echo: again", done.getString("result"));
    HttpResponse<Buffer> twice = post("/api/v1/tasks/" + id + "/retry", null);
    assertEquals(409, twice.statusCode(), twice.bodyAsString());
    assertEquals(404, post("/api/v1/tasks/no-such-task/retry", null).statusCode());
    assertEquals(404, post("/api/v1/tasks/no-such-task/cancel", null).statusCode());
  }

  @Test
  @DisplayName("max_attempts: 1 fails a task at its first upstream error, with the error kept")
  void maxAttemptsPerTask() throws Exception {
    upstream.down(true);
    String id = submit(task("once").put("max_attempts", 1));
    JsonObject t = await(id, Set.of("failed", "succeeded"));
    assertEquals("failed", t.getString("status"), t.encode());
    assertEquals(1, t.getInteger("attempts"));
    assertEquals(1, t.getInteger("max_attempts"));
    assertEquals(0, t.getInteger("lost"), "no worker was lost");
    assertNotNull(t.getString("error"));
    assertEquals(400, post("/api/v1/tasks", task("x").put("max_attempts", 0)).statusCode());
    assertEquals(400, post("/api/v1/tasks", task("x").put("max_attempts", "3")).statusCode());
  }

  @Test
  @DisplayName("run_at holds a task until its time; a bad run_at, or run_at with delay, is refused with 400")
  void runAt() throws Exception {
    Instant at = Instant.now().plusMillis(700);
    String id = submit(task("at a time").put("run_at", at.toString()));
    JsonObject queued = getPath("/api/v1/tasks/" + id).bodyAsJsonObject();
    assertEquals("queued", queued.getString("status"));
    assertEquals(at.toEpochMilli(), Instant.parse(queued.getString("run_at")).toEpochMilli());
    JsonObject done = await(id, Set.of("succeeded", "failed"));
    assertTrue(Instant.parse(done.getString("updated_at")).toEpochMilli() >= at.toEpochMilli(), done.encode());
    for (Object bad : new Object[] {"tomorrow", "2026-12-01T09:00:00", 12345, Instant.now().plus(Duration.ofDays(8)).toString()}) {
      HttpResponse<Buffer> r = post("/api/v1/tasks", task("x").put("run_at", bad));
      assertEquals(400, r.statusCode(), bad + ": " + r.bodyAsString());
      assertEquals("invalid_run_at", r.bodyAsJsonObject().getJsonObject("error").getString("code"));
    }
    assertEquals(400, post("/api/v1/tasks", task("x").put("run_at", at.toString()).put("delay", 5)).statusCode());
  }

  @Test
  @DisplayName("GET /api/v1/tasks lists newest first, filters by status and priority, and pages with next_cursor")
  void listing() throws Exception {
    Set<String> delayed = new HashSet<>();
    for (int i = 0; i < 5; i++) {
      delayed.add(submit(task("later " + i).put("delay", "1h").put("priority", i % 2 == 0 ? "low" : "high")));
    }
    String last = submit(task("newest").put("delay", "1h").put("priority", "low"));
    delayed.add(last);
    JsonObject first = getPath("/api/v1/tasks?status=queued&limit=4").bodyAsJsonObject();
    assertEquals(4, first.getJsonArray("data").size());
    assertEquals(last, first.getJsonArray("data").getJsonObject(0).getString("id"), "newest first");
    assertNotNull(first.getString("next_cursor"));
    JsonObject second = getPath("/api/v1/tasks?status=queued&limit=4&cursor=" + first.getString("next_cursor")).bodyAsJsonObject();
    Set<String> seen = new HashSet<>();
    first.getJsonArray("data").forEach(t -> seen.add(((JsonObject) t).getString("id")));
    second.getJsonArray("data").forEach(t -> seen.add(((JsonObject) t).getString("id")));
    assertEquals(delayed, seen, "two pages hold every queued task once");
    JsonObject high = getPath("/api/v1/tasks?priority=high").bodyAsJsonObject();
    assertEquals(2, high.getJsonArray("data").size());
    high.getJsonArray("data").forEach(t -> assertEquals("high", ((JsonObject) t).getString("priority")));
    assertEquals(0, getPath("/api/v1/tasks?status=succeeded").bodyAsJsonObject().getJsonArray("data").size());
    for (String bad : new String[] {"status=done", "priority=urgent", "limit=0", "limit=x", "cursor=bogus"}) {
      HttpResponse<Buffer> r = getPath("/api/v1/tasks?" + bad);
      assertEquals(400, r.statusCode(), bad + ": " + r.bodyAsString());
    }
  }

  @Test
  @DisplayName("/readyz names this instance and that it leads; /api/v1/cluster lists it")
  void instance() throws Exception {
    JsonObject ready = web.getAbs(gateway.url("/readyz")).send().await(10, TimeUnit.SECONDS).bodyAsJsonObject();
    JsonObject self = ready.getJsonObject("instance");
    assertNotNull(self, ready.encode());
    assertTrue(self.getBoolean("leader"), ready.encode());
    assertNotNull(ready.getJsonObject("components").getJsonObject("queue"), ready.encode());
    JsonObject cluster = getPath("/api/v1/cluster").bodyAsJsonObject();
    assertEquals(1, cluster.getJsonArray("data").size(), cluster.encode());
    JsonObject entry = cluster.getJsonArray("data").getJsonObject(0);
    assertEquals(self.getString("id"), entry.getString("id"));
    assertTrue(entry.getBoolean("leader"));
    assertNotNull(entry.getString("started_at"));
    assertNotNull(entry.getValue("running"));
  }

  @Test
  @DisplayName("skills: the agent is offered only the skills a task names; a name that is no skill is a 400 listing the skills")
  void skillsPerTask() throws Exception {
    HttpResponse<Buffer> bad = post("/api/v1/tasks", task("x").put("skills", new JsonArray().add("curent_time")));
    assertEquals(400, bad.statusCode(), bad.bodyAsString());
    assertEquals("unknown_skill", bad.bodyAsJsonObject().getJsonObject("error").getString("code"));
    assertTrue(bad.bodyAsJsonObject().getJsonObject("error").getString("message").contains("current_time"), bad.bodyAsString());
    assertEquals(400, post("/api/v1/tasks", task("x").put("skills", "current_time")).statusCode());

    String id = submit(task("what time is it").put("skills", new JsonArray().add("current_time")));
    JsonObject t = await(id, Set.of("succeeded", "failed"));
    assertEquals("succeeded", t.getString("status"), t.encode());
    assertEquals(new JsonArray().add("current_time"), t.getJsonArray("skills"));
    JsonArray tools = upstream.chatRequests().get(0).getJsonArray("tools");
    assertNotNull(tools, "the model was offered tools");
    assertEquals(1, tools.size(), tools.encode());
    assertEquals("current_time", tools.getJsonObject(0).getJsonObject("function").getString("name"));
  }
}
