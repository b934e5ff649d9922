package dev.switchboard.rules;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.bus.Addresses;
import dev.switchboard.testing.FakePlatform;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The rule engine in a whole gateway: events are what the contract says components send
 * (RULES_EVENT requests, EVENTS_RAISE publications, RULES_FIRE from the scheduler), actions reach
 * a fake webhook receiver and a fake model upstream over real HTTP. One gateway for the class;
 * each test puts its own rules (names and texts of its own) through PUT /api/v1/rules.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RulesTest {

  Vertx vertx;
  WebClient web;
  FakePlatform hook;
  FakeUpstream upstream;
  TestGateway gateway;
  String token;

  @BeforeAll
  void start() throws Exception {
    vertx = Vertx.vertx();
    web = WebClient.create(vertx);
    hook = FakePlatform.start(vertx, "{}").await(10, TimeUnit.SECONDS);
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "test-model")
        .file("channels.yaml", """
            webhooks:
              - name: "out"
                url: "%s"
                secret: "out-secret"
              - name: "ci"
                secret: "ci-secret"
            """.formatted(hook.url("/out"))).start();
    token = gateway.token("rules-test");
  }

  @AfterAll
  void stop() {
    gateway.close();
    vertx.close();
  }

  // ---------------------------------------------------------------------------------------------
  // helpers

  private HttpResponse<Buffer> call(HttpMethod method, String path, JsonObject body) throws Exception {
    var req = web.requestAbs(method, gateway.url(path)).bearerTokenAuthentication(token);
    return (body == null ? req.send() : req.sendJsonObject(body)).await(20, TimeUnit.SECONDS);
  }

  private JsonObject put(String yamlAsJson) throws Exception {
    HttpResponse<Buffer> r = call(HttpMethod.PUT, "/api/v1/rules", new JsonObject(yamlAsJson));
    assertEquals(200, r.statusCode(), r.bodyAsString());
    return r.bodyAsJsonObject();
  }

  private JsonObject event(JsonObject e) throws Exception {
    return gateway.vertx().eventBus().<JsonObject>request(Addresses.RULES_EVENT, e).await(20, TimeUnit.SECONDS).body();
  }

  private static JsonObject webhookEvent(String id, JsonObject body) {
    return new JsonObject().put("id", id).put("type", "webhook").put("time", "2026-01-01T00:00:00Z").put("hook", "ci")
        .put("body", body).put("headers", new JsonObject());
  }

  private List<FakePlatform.Received> receivedWith(String marker) {
    List<FakePlatform.Received> out = new ArrayList<>();
    for (FakePlatform.Received r : hook.received()) {
      if (r.body().contains(marker)) {
        out.add(r);
      }
    }
    return out;
  }

  private static void eventually(BooleanSupplier condition, Duration within, String what) throws InterruptedException {
    long deadline = System.nanoTime() + within.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within " + within + ": " + what);
      }
      Thread.sleep(20);
    }
  }

  private JsonObject rule(String name) throws Exception {
    for (Object o : call(HttpMethod.GET, "/api/v1/rules", null).bodyAsJsonObject().getJsonArray("data")) {
      if (name.equals(((JsonObject) o).getString("name"))) {
        return (JsonObject) o;
      }
    }
    throw new AssertionError("no rule " + name);
  }

  private static String marker() {
    return UUID.randomUUID().toString().substring(0, 8);
  }

  // ---------------------------------------------------------------------------------------------
  // triggers → actions

  @Test
  void webhookEventWhoseConditionHoldsPushesTheRenderedText() throws Exception {
    String m = marker();
    put("""
        {"rules": [{"name": "ci-%s", "on": {"webhook": "ci"},
          "if": "event.body.status == \\"failed\\" && event.body.branch in [\\"main\\", \\"release\\"]",
          "do": [{"push": {"channels": [{"type": "webhook", "bot": "out"}], "text": "failed %s: {{event.body.project}} <{{event.body.branch}}>"}}]}]}
        """.formatted(m, m));
    JsonObject skipped = event(webhookEvent("ci:" + m + ":1", new JsonObject().put("status", "failed").put("branch", "dev")));
    JsonObject fired = event(webhookEvent("ci:" + m + ":2", new JsonObject().put("status", "failed").put("branch", "main")
        .put("project", "api")));
    assertEquals(new JsonArray(), skipped.getJsonArray("fired"));
    assertEquals(new JsonArray().add("ci-" + m), fired.getJsonArray("fired"));
    eventually(() -> receivedWith(m).size() == 1, Duration.ofSeconds(10), "one push");
    // chat texts are not HTML-escaped
    assertEquals("failed " + m + ": api <main>", receivedWith(m).get(0).json().getString("text"));
  }

  @Test
  void taskFailedEventRaisedOnTheBusCallsTheWebhookWithTheRenderedBody() throws Exception {
    String m = marker();
    put("""
        {"rules": [{"name": "task-%s", "on": {"task": "failed"},
          "do": [{"webhook": {"name": "out", "body": {"marker": "%s", "task": "{{event.task.id}}", "error": "{{event.task.error}}"}}}]}]}
        """.formatted(m, m));
    gateway.vertx().eventBus().publish(Addresses.EVENTS_RAISE, new JsonObject().put("id", "task:t-" + m + ":failed")
        .put("type", "task").put("time", "2026-01-01T00:00:00Z")
        .put("task", new JsonObject().put("id", "t-" + m).put("status", "failed").put("error", "boom")));
    eventually(() -> receivedWith(m).size() == 1, Duration.ofSeconds(10), "the webhook call");
    FakePlatform.Received r = receivedWith(m).get(0);
    assertEquals(new JsonObject().put("marker", m).put("task", "t-" + m).put("error", "boom"), r.json());
    assertTrue(r.headers().get("x-switchboard-signature").startsWith("sha256="), "signed as design §3.2");
  }

  @Test
  void messageEventRunsAnAgentTaskThatAnswersThroughTheReplyTarget() throws Exception {
    String m = marker();
    put("""
        {"rules": [{"name": "conv-%s", "on": {"message": {"mentioned": true, "text": "^hi"}}, "do": [{"agent": {"reply": true}}]}]}
        """.formatted(m));
    JsonObject message = new JsonObject().put("id", "dingtalk:bot:" + m).put("type", "message").put("time", "2026-01-01T00:00:00Z")
        .put("platform", "dingtalk").put("bot", "assistant").put("text", "hi " + m).put("mentioned", true)
        .put("conversation", new JsonObject().put("id", "c1").put("type", "direct"))
        .put("sender", new JsonObject().put("id", "u1").put("name", "Ann"))
        .put("reply", new JsonObject()
            .put("target", new JsonObject().put("type", "webhook").put("bot", "out"))
            .put("conversation", new JsonObject().put("key", "dingtalk:assistant:c1").put("turns", 10))
            .put("memory_scopes", new JsonArray().add("user:dingtalk:u1")));
    assertEquals(new JsonArray().add("conv-" + m), event(message).getJsonArray("fired"));
    // the fake upstream echoes the prompt, which defaults to the message text
    eventually(() -> receivedWith("echo: hi " + m).size() == 1, Duration.ofSeconds(15), "the answer in place");
  }

  @Test
  void scheduleFiringRunsATaskActionCarryingTheRuleAndEvent() throws Exception {
    String m = marker();
    put("""
        {"rules": [{"name": "daily-%s", "on": {"schedule": {"every": "10m"}},
          "do": [{"task": {"input": "report %s at {{event.fire_time}}", "channels": [{"type": "webhook", "bot": "out"}]}}]}]}
        """.formatted(m, m));
    gateway.vertx().eventBus().request(Addresses.RULES_FIRE, new JsonObject().put("rule", "daily-" + m)
        .put("event", new JsonObject().put("type", "schedule").put("rule", "daily-" + m).put("fire_time", "T9")))
        .await(20, TimeUnit.SECONDS);
    eventually(() -> receivedWith("echo: report " + m + " at T9").size() == 1, Duration.ofSeconds(15), "the task's result");
    JsonObject tasks = call(HttpMethod.GET, "/api/v1/tasks?limit=100", null).bodyAsJsonObject();
    boolean found = false;
    for (Object o : tasks.getJsonArray("data")) {
      JsonObject t = (JsonObject) o;
      if (("daily-" + m).equals(t.getString("rule"))) {
        found = ("schedule:daily-" + m + ":T9").equals(t.getString("event"));
      }
    }
    assertTrue(found, "the task names its rule and event: " + tasks.encode());
  }

  @Test
  void emittedEventFiresAnotherRule() throws Exception {
    String m = marker();
    put("""
        {"rules": [
          {"name": "dead-%s", "on": {"delivery": "dead"}, "do": [{"emit": {"type": "ops.page", "body": {"what": "{{event.delivery.bot}}"}}}]},
          {"name": "page-%s", "on": {"event": "ops.page"}, "do": [{"push": {"channels": [{"type": "webhook", "bot": "out"}], "text": "page %s {{event.body.what}}"}}]}]}
        """.formatted(m, m, m));
    JsonObject fired = event(new JsonObject().put("id", "delivery:" + m).put("type", "delivery")
        .put("delivery", new JsonObject().put("status", "dead").put("bot", "erp")));
    assertEquals(new JsonArray().add("dead-" + m), fired.getJsonArray("fired"));
    eventually(() -> receivedWith("page " + m + " erp").size() == 1, Duration.ofSeconds(10), "the chained push");
  }

  @Test
  void providerDownRemembersAMemory() throws Exception {
    String m = marker();
    put("""
        {"rules": [{"name": "prov-%s", "on": {"provider": "down"},
          "do": [{"remember": {"content": "provider {{event.provider}} went down %s", "scope": "agent:ops-%s"}}]}]}
        """.formatted(m, m, m));
    gateway.vertx().eventBus().publish(Addresses.EVENTS_RAISE, new JsonObject().put("id", "provider:" + m).put("type", "provider")
        .put("provider", "deepseek").put("state", "down"));
    eventually(() -> {
      try {
        return call(HttpMethod.GET, "/api/v1/memories?scope=agent:ops-" + m, null).bodyAsString().contains("provider deepseek went down " + m);
      } catch (Exception e) {
        return false;
      }
    }, Duration.ofSeconds(30), "the memory");
  }

  // ---------------------------------------------------------------------------------------------
  // loading

  @Test
  void celErrorIsRefusedNamingTheRuleAndTheRunningSetStays() throws Exception {
    String m = marker();
    long revision = put("""
        {"rules": [{"name": "keep-%s", "on": {"webhook": "ci"}, "do": [{"push": {"channels": [{"type": "webhook", "bot": "out"}], "text": "x"}}]}]}
        """.formatted(m)).getLong("revision");
    HttpResponse<Buffer> r = call(HttpMethod.PUT, "/api/v1/rules", new JsonObject("""
        {"rules": [{"name": "bad-%s", "on": {"webhook": "ci"}, "if": "event.body.status ==", "do": [{"push": {"channels": [{"type": "webhook", "bot": "out"}], "text": "x"}}]}]}
        """.formatted(m)));
    assertEquals(400, r.statusCode());
    String message = r.bodyAsJsonObject().getJsonObject("error").getString("message");
    assertTrue(message.contains("rule 'bad-" + m + "'") && message.contains("if") && message.contains("CEL"), message);
    JsonObject list = call(HttpMethod.GET, "/api/v1/rules", null).bodyAsJsonObject();
    assertEquals(revision, list.getLong("revision"));
    assertEquals("keep-" + m, list.getJsonArray("data").getJsonObject(0).getString("name"));
  }

  @Test
  void badFileKeepsTheRunningSetAndReadyzShowsTheErrorWithoutGoingDown() throws Exception {
    String m = marker();
    put("""
        {"rules": [{"name": "good-%s", "on": {"webhook": "ci"}, "do": [{"push": {"channels": [{"type": "webhook", "bot": "out"}], "text": "good %s"}}]}]}
        """.formatted(m, m));
    Files.writeString(gateway.confDir().resolve("rules.yaml"), """
        rules:
          - name: "broken-%s"
            on: { webhook: "ci" }
            do: [ { push: { channels: [ { type: "webhook", bot: "out" } ], text: "x" } } ]
            colour: "red"
        """.formatted(m));
    eventually(() -> {
      try {
        return call(HttpMethod.GET, "/readyz", null).bodyAsString().contains("colour");
      } catch (Exception e) {
        return false;
      }
    }, Duration.ofSeconds(5), "the error in /readyz");
    HttpResponse<Buffer> ready = call(HttpMethod.GET, "/readyz", null);
    JsonObject rules = ready.bodyAsJsonObject().getJsonObject("components").getJsonObject("rules");
    assertEquals("stale", rules.getString("status"));
    assertTrue(rules.getString("error").contains("rule 'broken-" + m + "'"), rules.encode());
    assertEquals(new JsonArray().add("good-" + m), event(webhookEvent("ci:" + m, new JsonObject())).getJsonArray("fired"));
  }

  @Test
  void savedFileIsAppliedWithinTwoSecondsUnderAStreamOfEventsNoneLostOrDoubled() throws Exception {
    String m = marker();
    put("""
        {"rules": [{"name": "v0-%s", "on": {"webhook": "ci"}, "do": [{"push": {"channels": [{"type": "webhook", "bot": "out"}], "text": "s%s {{event.id}}"}}]}]}
        """.formatted(m, m));
    int events = 300;
    List<Future<io.vertx.core.eventbus.Message<JsonObject>>> replies = new ArrayList<>();
    long appliedWithin = 0;
    for (int i = 0; i < events; i++) {
      replies.add(gateway.vertx().eventBus().request(Addresses.RULES_EVENT, webhookEvent(m + "-" + i, new JsonObject())));
      if (i % 100 == 50) {
        String version = "v" + i + "-" + m;
        long saved = System.nanoTime();
        Files.writeString(gateway.confDir().resolve("rules.yaml"), """
            rules:
              - name: "%s"
                on: { webhook: "ci" }
                do: [ { push: { channels: [ { type: "webhook", bot: "out" } ], text: "s%s {{event.id}}" } } ]
            """.formatted(version, m));
        eventually(() -> {
          try {
            return rule(version) != null;
          } catch (Throwable e) {
            return false;
          }
        }, Duration.ofSeconds(2), "rules file applied");
        appliedWithin = Math.max(appliedWithin, (System.nanoTime() - saved) / 1_000_000);
      }
      Thread.sleep(5);
    }
    Future.all(new ArrayList<>(replies)).await(30, TimeUnit.SECONDS);
    for (var reply : replies) {
      assertEquals(1, reply.result().body().getJsonArray("fired").size(), reply.result().body().encode());
    }
    eventually(() -> receivedWith("s" + m + " ").size() >= events, Duration.ofSeconds(30), "every push");
    Thread.sleep(300);
    Set<String> texts = new HashSet<>();
    receivedWith("s" + m + " ").forEach(r -> texts.add(r.json().getString("text")));
    assertEquals(events, receivedWith("s" + m + " ").size(), "no event doubled");
    assertEquals(events, texts.size(), "no event lost");
    System.out.println("rules hot reload: applied within " + appliedWithin + " ms of the save");
  }

  // ---------------------------------------------------------------------------------------------
  // dry runs, limits, errors

  @Test
  void testEndpointRendersActionsWithoutExecutingThem() throws Exception {
    String m = marker();
    put("""
        {"rules": [{"name": "dry-%s", "on": {"webhook": "ci"}, "do": [{"push": {"channels": [{"type": "webhook", "bot": "out"}], "text": "dry %s {{event.body.n}}"}}]}]}
        """.formatted(m, m));
    JsonObject answer = call(HttpMethod.POST, "/api/v1/rules/test", new JsonObject().put("event",
        webhookEvent("dry", new JsonObject().put("n", 7)))).bodyAsJsonObject();
    JsonObject row = answer.getJsonArray("data").getJsonObject(0);
    assertTrue(row.getBoolean("matched"));
    assertEquals("dry " + m + " 7", row.getJsonArray("actions").getJsonObject(0).getString("text"));
    Thread.sleep(500);
    assertEquals(0, receivedWith("dry " + m).size(), "nothing pushed");
    assertEquals(0, rule("dry-" + m).getLong("fired"));
  }

  @Test
  void rateLimitStopsFiringsOverTheLimit() throws Exception {
    String m = marker();
    put("""
        {"rules": [{"name": "rl-%s", "on": {"webhook": "ci"}, "rate_limit": {"fires": 2, "per": "1m"},
          "do": [{"emit": {"type": "noop"}}]}]}
        """.formatted(m));
    int fired = 0;
    for (int i = 0; i < 4; i++) {
      fired += event(webhookEvent("rl:" + m + ":" + i, new JsonObject())).getJsonArray("fired").size();
    }
    assertEquals(2, fired);
  }

  @Test
  void cooldownSkipsFiringsSoonAfterTheLast() throws Exception {
    String m = marker();
    put("""
        {"rules": [{"name": "cd-%s", "on": {"webhook": "ci"}, "cooldown": "1m", "do": [{"emit": {"type": "noop"}}]}]}
        """.formatted(m));
    assertEquals(1, event(webhookEvent("cd:" + m + ":1", new JsonObject())).getJsonArray("fired").size());
    assertEquals(0, event(webhookEvent("cd:" + m + ":2", new JsonObject())).getJsonArray("fired").size());
  }

  @Test
  void chainsOfEmittedEventsStopAtDepthFive() throws Exception {
    String m = marker();
    put("""
        {"rules": [{"name": "loop-%s", "on": {"event": "loop"}, "do": [{"emit": {"type": "loop"}}]}]}
        """.formatted(m));
    event(new JsonObject().put("id", "loop:" + m).put("type", "loop"));
    JsonObject rule = rule("loop-" + m);
    // depths 1..5 fire; the fifth one's emit is refused
    assertEquals(4, rule.getLong("fired"));
    assertTrue(rule.getString("last_error").contains("depth limit 5"), rule.encode());
  }

  @Test
  void failingRuleRecordsItsErrorAndFiresItsOnErrorRule() throws Exception {
    String m = marker();
    put("""
        {"rules": [
          {"name": "fails-%s", "on": {"webhook": "ci"}, "on_error": "report-%s", "do": [{"agent": {"prompt": "p", "reply": true}}]},
          {"name": "report-%s", "on": {"event": "rule_error"},
           "do": [{"push": {"channels": [{"type": "webhook", "bot": "out"}], "text": "err %s {{event.rule}}: {{event.error}}"}}]}]}
        """.formatted(m, m, m, m));
    event(webhookEvent("fails:" + m, new JsonObject()));
    assertTrue(rule("fails-" + m).getString("last_error").contains("reply"), rule("fails-" + m).encode());
    eventually(() -> receivedWith("err " + m + " fails-" + m).size() == 1, Duration.ofSeconds(10), "the on_error push");
  }

  @Test
  void theSameEventDeliveredTwiceFiresOnce() throws Exception {
    String m = marker();
    put("""
        {"rules": [{"name": "once-%s", "on": {"webhook": "ci"}, "do": [{"emit": {"type": "noop"}}]}]}
        """.formatted(m));
    event(webhookEvent("once:" + m, new JsonObject()));
    event(webhookEvent("once:" + m, new JsonObject()));
    assertEquals(1, rule("once-" + m).getLong("fired"));
  }
}
