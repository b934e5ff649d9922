package dev.switchboard.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.bus.Addresses;
import dev.switchboard.cluster.Until;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.SqlClient;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Two gateways on one Redis (distributed profile, each its own data folder): only the leader
 * probes, and the other takes its verdicts. So that the requests can be told apart, each gateway's
 * provider "default" points at a fake upstream of its own; a follower that probed would show in its
 * own fake's count, and a follower that shows its provider down while its own fake is fine can only
 * have it from the leader. Needs REDIS_URL and DATABASE_URL (scripts/test.sh); fails without them.
 */
@DisplayName("Provider probes run on the leader only, and the others take its verdicts")
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ProbeLeaderIT {

  static final String SCHEMA = "sb_probes_it_" + UUID.randomUUID().toString().substring(0, 8);
  static final String PROVIDERS = """
      providers:
        - name: "default"
          endpoint: "${MODEL_ENDPOINT}"
          auth: { type: "api_key", key: "${MODEL_API_KEY}" }
          models: ["*"]
      health_check: { interval: 1s, timeout: 2s }
      """;
  static String redisUrl;
  static String databaseUrl;

  Vertx vertx;
  WebClient web;
  FakeUpstream firstUpstream;
  FakeUpstream secondUpstream;
  TestGateway first;
  TestGateway second;

  @BeforeAll
  static void services() throws Exception {
    redisUrl = required("REDIS_URL");
    databaseUrl = required("DATABASE_URL");
    sql("CREATE SCHEMA " + SCHEMA);
  }

  @AfterAll
  static void dropSchema() throws Exception {
    sql("DROP SCHEMA IF EXISTS " + SCHEMA + " CASCADE");
  }

  static String required(String name) {
    String value = System.getenv(name);
    assertNotNull(value, name + " is not set: run the tests with scripts/test.sh, which starts Redis and PostgreSQL");
    return value;
  }

  static void sql(String statement) throws Exception {
    Vertx v = Vertx.vertx();
    try {
      SqlClient client = PgBuilder.client().connectingTo(PgConnectOptions.fromUri(databaseUrl)).using(v).build();
      client.query(statement).execute().await(20, TimeUnit.SECONDS);
      client.close().await(20, TimeUnit.SECONDS);
    } finally {
      v.close().await(20, TimeUnit.SECONDS);
    }
  }

  private TestGateway gateway(FakeUpstream upstream) {
    String pg = databaseUrl + (databaseUrl.contains("?") ? "&" : "?") + "search_path=" + SCHEMA + ",public";
    return TestGateway.builder().upstream(upstream.baseUrl()).file("model_provider.yaml", PROVIDERS)
        .env("SWITCHBOARD_STORAGE", "distributed").env("REDIS_URL", redisUrl).env("DATABASE_URL", pg).start();
  }

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    web = WebClient.create(vertx);
    firstUpstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    secondUpstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    first = gateway(firstUpstream);
    second = gateway(secondUpstream);
  }

  @AfterEach
  void stop() throws Exception {
    for (TestGateway g : new TestGateway[] {second, first}) {
      if (g != null) {
        g.close();
      }
    }
    vertx.close().await(20, TimeUnit.SECONDS);
  }

  private static JsonObject ask(TestGateway g, String address) throws Exception {
    return g.vertx().eventBus().<JsonObject>request(address, null).await(10, TimeUnit.SECONDS).body();
  }

  private static boolean leads(TestGateway g) throws Exception {
    return ask(g, Addresses.CLUSTER_SELF).getBoolean("leader");
  }

  private JsonObject provider(TestGateway g) throws Exception {
    return web.getAbs(g.url("/readyz")).send().await(10, TimeUnit.SECONDS).bodyAsJsonObject()
        .getJsonObject("components").getJsonObject("provider:default");
  }

  @Test
  @DisplayName("only the leader probes; a provider it finds down is down on the other too, and up again with it")
  void onlyTheLeaderProbes() throws Exception {
    Until.holds(Duration.ofSeconds(15), "exactly one leader", () -> leads(first) ^ leads(second));
    TestGateway leader = leads(first) ? first : second;
    TestGateway follower = leader == first ? second : first;
    FakeUpstream leaderUpstream = leader == first ? firstUpstream : secondUpstream;
    FakeUpstream followerUpstream = leader == first ? secondUpstream : firstUpstream;
    // the follower asks its /models once at start-up, for the default model; not again after
    Until.holds(Duration.ofSeconds(10), "the follower knows its default model",
        () -> "fake-model".equals(ask(follower, Addresses.MODEL_DEFAULT).getString("model")));

    int followerAsked = followerUpstream.modelsRequests();
    int leaderProbed = leaderUpstream.modelsRequests();
    Until.holds(Duration.ofSeconds(20), "three probes by the leader", () -> leaderUpstream.modelsRequests() >= leaderProbed + 3);
    assertEquals(followerAsked, followerUpstream.modelsRequests(), "the follower did not probe");

    leaderUpstream.down(true);
    Until.holds(Duration.ofSeconds(15), "the follower shows the provider down",
        () -> "down".equals(provider(follower).getString("status")));
    JsonObject down = provider(follower);
    assertTrue(down.getString("reason").contains("its probe failed: status 503"), down.encode());
    assertEquals(false, down.getJsonObject("last_probe").getBoolean("ok"), down.encode());
    assertEquals(followerAsked, followerUpstream.modelsRequests(), "its own upstream, which is fine, was not asked");

    leaderUpstream.down(false);
    Until.holds(Duration.ofSeconds(15), "the follower shows it up again", () -> "up".equals(provider(follower).getString("status")));
    Until.holds(Duration.ofSeconds(15), "the follower's last_probe is the leader's",
        () -> provider(follower).getJsonObject("last_probe").equals(provider(leader).getJsonObject("last_probe")));
    assertEquals(followerAsked, followerUpstream.modelsRequests(), "the follower still did not probe");
  }

  @Test
  @DisplayName("when the leader stops, the other takes over the probes")
  void followerTakesOverTheProbes() throws Exception {
    Until.holds(Duration.ofSeconds(15), "exactly one leader", () -> leads(first) ^ leads(second));
    TestGateway leader = leads(first) ? first : second;
    TestGateway follower = leader == first ? second : first;
    FakeUpstream followerUpstream = leader == first ? secondUpstream : firstUpstream;
    Until.holds(Duration.ofSeconds(10), "the follower knows its default model",
        () -> "fake-model".equals(ask(follower, Addresses.MODEL_DEFAULT).getString("model")));
    int followerAsked = followerUpstream.modelsRequests();

    leader.close();
    if (leader == first) {
      first = null;
    } else {
      second = null;
    }
    Until.holds(Duration.ofSeconds(15), "the follower leads", () -> leads(follower));
    Until.holds(Duration.ofSeconds(15), "and probes", () -> followerUpstream.modelsRequests() >= followerAsked + 2);
  }
}
