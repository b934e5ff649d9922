package dev.switchboard.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.TcpProxy;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.SqlClient;
import java.net.URI;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The memory behaviours on the distributed profile: turns in Redis, memories in PostgreSQL with
 * pgvector (a schema of its own for this class), plus what only a networked store can do to us:
 * go away. Needs REDIS_URL and DATABASE_URL (scripts/test.sh provides both); fails without them.
 */
@DisplayName("Memory, distributed profile")
class DistributedMemoryIT extends MemoryBehaviour {

  static final String SCHEMA = "sb_memory_it_" + UUID.randomUUID().toString().substring(0, 8);
  static String redisUrl;
  static String databaseUrl;

  @BeforeAll
  static void schema() throws Exception {
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

  static String inSchema(String url) {
    return url + (url.contains("?") ? "&" : "?") + "search_path=" + SCHEMA + ",public";
  }

  @Override
  TestGateway.Builder profile(TestGateway.Builder builder) {
    return builder.env("SWITCHBOARD_STORAGE", "distributed").env("REDIS_URL", redisUrl).env("DATABASE_URL", inSchema(databaseUrl));
  }

  /** The same service, behind a relay this test can cut. */
  private static String through(TcpProxy proxy, String url) {
    URI uri = URI.create(url);
    return url.replaceFirst(uri.getHost() + ":" + uri.getPort(), "127.0.0.1:" + proxy.port());
  }

  @Test
  void turnsArrivingWhileRedisIsDownAreWrittenInOrderOnceItIsBackAgainAndAgain() throws Exception {
    URI redis = URI.create(redisUrl);
    TcpProxy proxy = TcpProxy.start(vertx, redis.getHost(), redis.getPort()).await(10, TimeUnit.SECONDS);
    gateway.close();
    gateway = profile(TestGateway.builder().upstream(upstream.baseUrl()).file("switchboard.yaml", """
        memory:
          short_term:
            max_turns: 100
        """)).env("REDIS_URL", through(proxy, redisUrl)).start();
    String conversation = "dingtalk:assistant:outage-" + run;
    remember(conversation, "停机前", "好");
    proxy.down().await(10, TimeUnit.SECONDS);
    for (int i = 0; i < 60; i++) { // more than one batch of the outbox
      remember(conversation, "停机中" + i, "记下了" + i); // accepted: held in the outbox
    }
    waitUntil(() -> get("/readyz").statusCode() == 503, "not ready while Redis is gone");
    JsonObject component = json(get("/readyz")).getJsonObject("components").getJsonObject("short_term_memory");
    assertEquals("down", component.getString("status"));
    assertTrue(component.getString("error").contains("Redis"), component.encode());
    proxy.up().await(10, TimeUnit.SECONDS);
    waitUntil(() -> turns(conversation) == 2 + 120, "the held turns written");
    JsonArray turns = history(conversation);
    assertEquals("停机前", turns.getJsonObject(0).getString("content"));
    assertEquals("停机中0", turns.getJsonObject(2).getString("content"));
    assertEquals("停机中59", turns.getJsonObject(120).getString("content"));
    // and once more: the outbox works after it has drained
    proxy.down().await(10, TimeUnit.SECONDS);
    remember(conversation, "第二次停机中", "好的");
    proxy.up().await(10, TimeUnit.SECONDS);
    remember(conversation, "恢复以后", "嗯");
    waitUntil(() -> turns(conversation) == 2 + 120 + 4, "the second outage's turns written");
    turns = history(conversation);
    assertEquals("第二次停机中", turns.getJsonObject(122).getString("content"));
    assertEquals("恢复以后", turns.getJsonObject(124).getString("content"));
    waitUntil(() -> get("/readyz").statusCode() == 200, "ready again");
  }

  private int turns(String conversation) {
    try {
      return history(conversation).size();
    } catch (RuntimeException stillDown) {
      return -1;
    }
  }

  @Test
  void aWriteWhilePostgresIsDownGetsAClearErrorAndSucceedsOnceItIsBack() throws Exception {
    URI pg = URI.create(databaseUrl.replaceFirst("^postgresql:", "http:"));
    TcpProxy proxy = TcpProxy.start(vertx, pg.getHost(), pg.getPort()).await(10, TimeUnit.SECONDS);
    gateway.close();
    gateway = profile(TestGateway.builder().upstream(upstream.baseUrl()).file("switchboard.yaml", WINDOW))
        .env("DATABASE_URL", inSchema(through(proxy, databaseUrl))).start();
    waitUntil(() -> get("/readyz").statusCode() == 200, "ready");
    String scope = "user:" + run;
    proxy.down().await(10, TimeUnit.SECONDS);
    JsonObject fact = new JsonObject().put("content", "孙八的邮箱是 sun8@example.com").put("scope", scope);
    HttpResponse<Buffer> refused = post("/api/v1/memories", fact);
    assertError(refused, 503, "PostgreSQL is unavailable");
    proxy.up().await(10, TimeUnit.SECONDS);
    waitUntil(() -> post("/api/v1/memories", fact).statusCode() == 201, "writes accepted again");
    assertEquals(1, list(scope, null).size());
    assertEquals("孙八的邮箱是 sun8@example.com", search("孙八的邮箱", scope, 1).getJsonObject(0).getString("content"));
  }

  @Test
  void aGatewayStartedWithoutPostgresIsNotReadyAndRecoversWhenItAppears() throws Exception {
    URI pg = URI.create(databaseUrl.replaceFirst("^postgresql:", "http:"));
    TcpProxy proxy = TcpProxy.start(vertx, pg.getHost(), pg.getPort()).await(10, TimeUnit.SECONDS);
    proxy.down().await(10, TimeUnit.SECONDS);
    gateway.close();
    gateway = profile(TestGateway.builder().upstream(upstream.baseUrl()).file("switchboard.yaml", WINDOW))
        .env("DATABASE_URL", inSchema(through(proxy, databaseUrl))).start();
    assertEquals(503, get("/readyz").statusCode());
    assertError(post("/api/v1/memories", new JsonObject().put("content", "x").put("scope", "user:" + run)), 503,
        "long-term memory is not ready");
    proxy.up().await(10, TimeUnit.SECONDS);
    waitUntil(() -> get("/readyz").statusCode() == 200, "ready once PostgreSQL answers");
    assertEquals(201, post("/api/v1/memories", new JsonObject().put("content", "周九在测试组").put("scope", "user:" + run)).statusCode());
  }

}
