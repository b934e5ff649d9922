package dev.switchboard.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.Failure;
import dev.switchboard.cluster.Cluster;
import dev.switchboard.cluster.Until;
import dev.switchboard.store.EmbeddedStore;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The scheduler on the embedded profile (its own leader), with the rules played by a consumer of RULES_FIRE. */
@DisplayName("Scheduler: firing, misfires and the schedule API on the bus")
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SchedulerVerticleTest {

  Vertx vertx;
  Path dir;
  final List<JsonObject> fired = new CopyOnWriteArrayList<>();

  @BeforeEach
  void start() throws Exception {
    dir = Files.createTempDirectory("sb-scheduler");
    vertx = Vertx.vertx();
    vertx.eventBus().<JsonObject>consumer(Addresses.RULES_FIRE, m -> {
      fired.add(m.body());
      m.reply(null);
    });
  }

  @AfterEach
  void stop() throws Exception {
    vertx.close().await(20, TimeUnit.SECONDS);
    try (var paths = Files.walk(dir)) {
      paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  void deploy() throws Exception {
    vertx.deployVerticle(new SchedulerVerticle(new SchedulerVerticle.Options("embedded", dir, null, null), Cluster.single()))
        .await(10, TimeUnit.SECONDS);
  }

  /** A schedule as it is after downtime: stored with a next firing an hour ago. */
  Instant storedOverdue(String rule, JsonObject spec) throws Exception {
    EmbeddedScheduleStore store = new EmbeddedScheduleStore(EmbeddedStore.open(vertx, dir).await(10, TimeUnit.SECONDS));
    store.init().await(10, TimeUnit.SECONDS);
    Instant hourAgo = Instant.now().minus(Duration.ofHours(1));
    store.add(new ScheduleEntry(rule, spec, ScheduleEntry.API, new JsonObject().put("name", rule), hourAgo, null, 0))
        .await(10, TimeUnit.SECONDS);
    store.close().await(10, TimeUnit.SECONDS);
    return Instant.ofEpochMilli(hourAgo.toEpochMilli());
  }

  JsonObject listed(String rule) throws Exception {
    JsonArray data = vertx.eventBus().<JsonObject>request(Addresses.SCHEDULES_LIST, null).await(10, TimeUnit.SECONDS)
        .body().getJsonArray("data");
    return data.stream().map(JsonObject.class::cast).filter(e -> rule.equals(e.getString("rule"))).findFirst().orElse(null);
  }

  JsonObject add(JsonObject rule) throws Exception {
    return vertx.eventBus().<JsonObject>request(Addresses.SCHEDULES_ADD, rule).await(10, TimeUnit.SECONDS).body();
  }

  static JsonObject rule(String name, JsonObject schedule) {
    return new JsonObject().put("name", name).put("on", new JsonObject().put("schedule", schedule))
        .put("do", new JsonArray().add(new JsonObject().put("emit", new JsonObject().put("type", "tick"))));
  }

  Failure failure(Runnable call) {
    try {
      call.run();
    } catch (RuntimeException e) {
      return Failure.from(e.getCause() instanceof ReplyException re ? re : e);
    }
    throw new AssertionError("expected a failure");
  }

  @Test
  @DisplayName("misfire skip: a firing missed during downtime is not sent, and the next is in the future")
  void misfireSkip() throws Exception {
    storedOverdue("nightly", new JsonObject().put("every", "1h").put("misfire", "skip"));
    deploy();
    Until.holds(Duration.ofSeconds(5), "the next firing moved on",
        () -> Instant.parse(listed("nightly").getString("next_fire")).isAfter(Instant.now()));
    Thread.sleep(1_500);
    assertEquals(List.of(), fired);
    assertNull(listed("nightly").getString("last_fire"));
  }

  @Test
  @DisplayName("misfire run_once: a firing missed during downtime is sent once now, then the next is in the future")
  void misfireRunOnce() throws Exception {
    Instant overdue = storedOverdue("nightly", new JsonObject().put("every", "1h").put("misfire", "run_once"));
    deploy();
    Until.holds(Duration.ofSeconds(5), "one firing", () -> fired.size() == 1);
    Thread.sleep(1_500);
    assertEquals(1, fired.size(), fired.toString());
    JsonObject event = fired.get(0).getJsonObject("event");
    assertEquals("schedule", event.getString("type"));
    assertEquals("nightly", event.getString("rule"));
    assertEquals(overdue.toString(), event.getString("fire_time"));
    assertEquals("nightly", fired.get(0).getJsonObject("definition").getString("name"));
    JsonObject entry = listed("nightly");
    assertTrue(Instant.parse(entry.getString("next_fire")).isAfter(Instant.now()), entry.encode());
    assertTrue(entry.getString("last_fire") != null, entry.encode());
  }

  @Test
  @DisplayName("every: an API schedule of every 1s fires each second, with its rule's definition")
  void everySecond() throws Exception {
    deploy();
    JsonObject rule = rule("pulse", new JsonObject().put("every", "1s"));
    JsonObject entry = add(rule);
    assertEquals("api", entry.getString("source"));
    Until.holds(Duration.ofSeconds(6), "three firings", () -> fired.size() >= 3);
    assertEquals(3, fired.stream().limit(3).map(f -> f.getJsonObject("event").getString("fire_time")).distinct().count());
    assertEquals(rule, fired.get(0).getJsonObject("definition"));
  }

  @Test
  @DisplayName("cron: a rules.yaml schedule with seconds fires, without a definition (the rules engine has the rule)")
  void cronFromTheFile() throws Exception {
    deploy();
    vertx.eventBus().request(Addresses.SCHEDULES_SYNC, new JsonObject().put("rules", new JsonArray()
        .add(new JsonObject().put("rule", "ticker").put("schedule", new JsonObject().put("cron", "* * * * * ?")))))
        .await(10, TimeUnit.SECONDS);
    Until.holds(Duration.ofSeconds(5), "a firing", () -> !fired.isEmpty());
    assertEquals("ticker", fired.get(0).getString("rule"));
    assertNull(fired.get(0).getValue("definition"));
    assertEquals("file", listed("ticker").getString("source"));
  }

  @Test
  @DisplayName("at: fires once at its time, then has no next firing")
  void atFiresOnce() throws Exception {
    deploy();
    add(rule("once", new JsonObject().put("at", Instant.now().plusMillis(1_500).atOffset(java.time.ZoneOffset.ofHours(8)).toString())));
    Until.holds(Duration.ofSeconds(5), "a firing", () -> !fired.isEmpty());
    Thread.sleep(1_500);
    assertEquals(1, fired.size());
    assertNull(listed("once").getString("next_fire"));
  }

  @Test
  @DisplayName("an API schedule is checked by the rules engine; one it refuses is not stored")
  void refusedByTheRules() throws Exception {
    vertx.eventBus().<JsonObject>consumer(Addresses.RULES_VALIDATE, m ->
        Failure.reply(m, Failure.badRequest("invalid_rule", "rule 'bad': unknown action 'explode'")));
    deploy();
    Failure f = failure(() -> {
      try {
        add(rule("bad", new JsonObject().put("every", "1m")));
      } catch (Exception e) {
        throw new RuntimeException(e);
      }
    });
    assertEquals(400, f.status());
    assertTrue(f.getMessage().contains("unknown action 'explode'"), f.getMessage());
    assertNull(listed("bad"));
  }

  @Test
  @DisplayName("an API schedule whose 'at' has passed, or whose trigger is no schedule, is refused")
  void refusedHere() throws Exception {
    deploy();
    Failure past = failure(() -> {
      try {
        add(rule("late", new JsonObject().put("at", "2020-01-01T00:00:00+08:00")));
      } catch (Exception e) {
        throw new RuntimeException(e);
      }
    });
    assertEquals(400, past.status());
    assertTrue(past.getMessage().contains("never fire"), past.getMessage());
    Failure notSchedule = failure(() -> {
      try {
        add(new JsonObject().put("name", "x").put("on", new JsonObject().put("webhook", "ci")));
      } catch (Exception e) {
        throw new RuntimeException(e);
      }
    });
    assertEquals(400, notSchedule.status());
  }

  @Test
  @DisplayName("delete: an API schedule goes, a file one is 409, an unknown one 404")
  void delete() throws Exception {
    deploy();
    add(rule("mine", new JsonObject().put("every", "1h")));
    vertx.eventBus().request(Addresses.SCHEDULES_SYNC, new JsonObject().put("rules", new JsonArray()
        .add(new JsonObject().put("rule", "daily").put("schedule", new JsonObject().put("cron", "0 0 9 * * ?")))))
        .await(10, TimeUnit.SECONDS);
    vertx.eventBus().request(Addresses.SCHEDULES_DELETE, "mine").await(10, TimeUnit.SECONDS);
    assertNull(listed("mine"));
    Failure file = failure(() -> vertx.eventBus().request(Addresses.SCHEDULES_DELETE, "daily").await());
    assertEquals(409, file.status());
    assertTrue(file.getMessage().contains("rules.yaml"), file.getMessage());
    Failure unknown = failure(() -> vertx.eventBus().request(Addresses.SCHEDULES_DELETE, "nobody").await());
    assertEquals(404, unknown.status());
  }
}
