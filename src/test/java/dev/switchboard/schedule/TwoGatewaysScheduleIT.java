package dev.switchboard.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.bus.Addresses;
import dev.switchboard.cluster.Until;
import dev.switchboard.testing.TestGateway;
import dev.switchboard.testing.TestRedis;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.redis.client.Redis;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Two gateways on the distributed profile share one Redis: a schedule fires once per firing, on
 * the leader, and the other takes over when the leader stops. The firings are counted as they are
 * sent on RULES_FIRE (an interceptor, so a rules engine consuming it too does not hide any).
 * Needs REDIS_URL (scripts/test.sh); fails without.
 */
@DisplayName("Schedules with two gateways on one Redis")
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TwoGatewaysScheduleIT {

  static String redisUrl;
  Vertx vertx;
  WebClient web;
  String prefix;
  final List<TestGateway> gateways = new ArrayList<>();
  /** fire_time of each firing sent, with the gateway that sent it. */
  final List<String> firings = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void redis() {
    redisUrl = TestRedis.url();
  }

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    web = WebClient.create(vertx);
    prefix = "sbtest-schedit:" + UUID.randomUUID().toString().substring(0, 8) + ":";
  }

  @AfterEach
  void stop() throws Exception {
    for (TestGateway g : gateways) {
      g.close();
    }
    try {
      TestRedis.deleteUnder(vertx, redisUrl, prefix);
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  TestGateway instance(String name) {
    TestGateway g = TestGateway.builder().env("SWITCHBOARD_STORAGE", "distributed").env("REDIS_URL", redisUrl)
        .file("channels.yaml", "store:\n  key_prefix: \"" + prefix + "\"\n")
        .file("switchboard.yaml", "queue:\n  key_prefix: \"" + prefix + "q:\"\n")
        .start();
    g.vertx().eventBus().<JsonObject>consumer(Addresses.RULES_FIRE, m -> m.reply(null));
    g.vertx().eventBus().addOutboundInterceptor(dc -> {
      if (Addresses.RULES_FIRE.equals(dc.message().address()) && dc.message().body() instanceof JsonObject body) {
        firings.add(name + " " + body.getJsonObject("event").getString("fire_time"));
      }
      dc.next();
    });
    gateways.add(g);
    return g;
  }

  boolean leads(TestGateway g) throws Exception {
    return g.vertx().eventBus().<JsonObject>request(Addresses.CLUSTER_SELF, null).await(10, TimeUnit.SECONDS).body()
        .getBoolean("leader");
  }

  HttpResponse<Buffer> post(TestGateway g, JsonObject rule) throws Exception {
    return web.postAbs(g.url("/api/v1/schedules")).bearerTokenAuthentication(g.token("alice"))
        .sendJsonObject(rule).await(10, TimeUnit.SECONDS);
  }

  JsonArray list(TestGateway g) throws Exception {
    return web.getAbs(g.url("/api/v1/schedules")).bearerTokenAuthentication(g.token("alice")).send()
        .await(10, TimeUnit.SECONDS).bodyAsJsonObject().getJsonArray("data");
  }

  static JsonObject everySecond(String name) {
    return new JsonObject().put("name", name).put("on", new JsonObject().put("schedule", new JsonObject().put("every", "1s")))
        .put("do", new JsonArray().add(new JsonObject().put("emit", new JsonObject().put("type", "tick"))));
  }

  /** The fire times sent, each with how many times it was sent. */
  Set<String> fireTimes() {
    Set<String> times = new HashSet<>();
    for (String f : firings) {
      times.add(f.substring(f.indexOf(' ') + 1));
    }
    return times;
  }

  @Test
  @DisplayName("each firing is sent once, by the leader, whichever instance took the schedule")
  void eachFiringOnce() throws Exception {
    TestGateway a = instance("a");
    TestGateway b = instance("b");
    Until.holds(Duration.ofSeconds(15), "exactly one leader", () -> leads(a) ^ leads(b));
    String leader = leads(a) ? "a" : "b";
    TestGateway follower = leads(a) ? b : a;
    // made on the follower: the leader finds it in the shared store
    assertEquals(201, post(follower, everySecond("pulse")).statusCode());
    Until.holds(Duration.ofSeconds(15), "five firings", () -> firings.size() >= 5);
    Thread.sleep(1_000);
    List<String> seen = List.copyOf(firings);
    assertEquals(seen.size(), fireTimes().size(), "a firing was sent twice: " + seen);
    assertTrue(seen.stream().allMatch(f -> f.startsWith(leader + " ")), "only the leader fires: " + seen);
    assertEquals(1, list(a).size());
    assertEquals(list(a).getJsonObject(0).getString("rule"), list(b).getJsonObject(0).getString("rule"));
  }

  @Test
  @DisplayName("when the leader stops, the other fires, and no firing is sent twice")
  void followerTakesOver() throws Exception {
    TestGateway a = instance("a");
    TestGateway b = instance("b");
    Until.holds(Duration.ofSeconds(15), "exactly one leader", () -> leads(a) ^ leads(b));
    TestGateway leader = leads(a) ? a : b;
    TestGateway follower = leader == a ? b : a;
    String followerName = follower == a ? "a" : "b";
    assertEquals(201, post(leader, everySecond("pulse")).statusCode());
    Until.holds(Duration.ofSeconds(15), "two firings", () -> firings.size() >= 2);
    leader.close();
    gateways.remove(leader);
    Until.holds(Duration.ofSeconds(20), "the other fires",
        () -> firings.stream().filter(f -> f.startsWith(followerName + " ")).count() >= 2);
    List<String> seen = List.copyOf(firings);
    assertEquals(seen.size(), fireTimes().size(), "a firing was sent twice: " + seen);
  }
}
