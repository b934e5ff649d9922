package dev.switchboard.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.bus.Addresses;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ScheduleTaskSkillTest {

  static Vertx fakes;
  static TestGateway gateway;

  @BeforeAll
  static void start() throws Exception {
    fakes = Vertx.vertx();
    FakeUpstream upstream = FakeUpstream.start(fakes).await(10, TimeUnit.SECONDS);
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "fake-model").start();
  }

  @AfterAll
  static void stop() throws Exception {
    gateway.close();
    fakes.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void aCronScheduleIsListed() throws Exception {
    String answer = run(new JsonObject().put("name", "monday-report").put("cron", "0 0 9 ? * MON")
        .put("timezone", "Asia/Shanghai").put("prompt", "summarise last week's failed tasks"));
    assertTrue(answer.startsWith("scheduled 'monday-report', next run "), answer);
    JsonObject entry = listed("monday-report");
    assertEquals("api", entry.getString("source"), entry.encode());
    assertEquals(new JsonObject().put("cron", "0 0 9 ? * MON").put("timezone", "Asia/Shanghai"), entry.getJsonObject("schedule"));
  }

  @Test
  void whenItFiresTheActionIsAnAgentTaskWithThePrompt() throws Exception {
    // Whole seconds only, so truncating must not land on now: three seconds ahead stays in the future on a slow machine.
    String at = java.time.Instant.now().plusSeconds(3).truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString();
    run(new JsonObject().put("name", "soon").put("at", at).put("prompt", "say the time please"));
    long deadline = System.currentTimeMillis() + 15_000;
    do {
      JsonArray tasks = gateway.vertx().eventBus().<JsonObject>request(Addresses.TASK_LIST, new JsonObject().put("limit", 50))
          .await(10, TimeUnit.SECONDS).body().getJsonArray("data");
      var fired = tasks.stream().map(JsonObject.class::cast).filter(t -> "say the time please".equals(t.getString("input"))).toList();
      if (!fired.isEmpty()) {
        assertEquals("soon", fired.get(0).getString("rule"), fired.get(0).encode());
        return;
      }
      Thread.sleep(50);
    } while (System.currentTimeMillis() < deadline);
    throw new AssertionError("the schedule made no task");
  }

  @Test
  void anEveryScheduleIsListed() throws Exception {
    run(new JsonObject().put("name", "hourly-check").put("every", "1h").put("prompt", "check the queue"));
    assertTrue(listed("hourly-check").getString("next_fire") != null);
  }

  @Test
  void twoSchedulesAtOnceAreRefused() {
    Exception e = assertThrows(Exception.class, () -> run(new JsonObject().put("name", "both").put("every", "1h")
        .put("cron", "0 0 9 * * ?").put("prompt", "x")));
    assertTrue(e.getMessage().contains("exactly one of at, every or cron"), e.getMessage());
  }

  @Test
  void aBadCronIsTheSchedulersRefusal() {
    Exception e = assertThrows(Exception.class, () -> run(new JsonObject().put("name", "bad").put("cron", "every monday")
        .put("prompt", "x")));
    assertTrue(e.getMessage().toLowerCase().contains("cron"), e.getMessage());
  }

  private static JsonObject listed(String rule) throws Exception {
    JsonArray data = gateway.vertx().eventBus().<JsonObject>request(Addresses.SCHEDULES_LIST, null)
        .await(10, TimeUnit.SECONDS).body().getJsonArray("data");
    return data.stream().map(JsonObject.class::cast).filter(s -> rule.equals(s.getString("rule"))).findFirst()
        .orElseThrow(() -> new AssertionError(rule + " not listed: " + data.encode()));
  }

  private static String run(JsonObject args) throws Exception {
    return new ScheduleTaskSkill().run(new SkillCall(args, List.of(), "task:t1", gateway.vertx())).await(10, TimeUnit.SECONDS);
  }
}
