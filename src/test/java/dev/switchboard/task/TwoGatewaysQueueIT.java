package dev.switchboard.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TcpProxy;
import dev.switchboard.testing.TestGateway;
import dev.switchboard.testing.TestRedis;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import io.vertx.redis.client.Redis;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Two gateways on the distributed profile share one task queue in Redis: what one accepts, either
 * may run, and each task runs once. Needs REDIS_URL (scripts/test.sh provides it); fails without.
 */
@ExtendWith(VertxExtension.class)
@DisplayName("Two gateways sharing the task queue")
class TwoGatewaysQueueIT {

  static String redisUrl;
  Vertx vertx;
  FakeUpstream upstream;
  WebClient web;
  String prefix;
  final List<TestGateway> gateways = new ArrayList<>();

  @BeforeAll
  static void redis() {
    redisUrl = TestRedis.url();
  }

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    this.vertx = vertx;
    prefix = "sbtest-queue:" + UUID.randomUUID().toString().substring(0, 8) + ":";
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    web = WebClient.create(vertx);
  }

  @AfterEach
  void stop() throws Exception {
    for (TestGateway g : gateways) {
      g.close();
    }
    TestRedis.deleteUnder(vertx, redisUrl, prefix);
  }

  TestGateway instance(int workers, String grace) {
    return instance(workers, grace, redisUrl);
  }

  TestGateway instance(int workers, String grace, String redis) {
    TestGateway g = TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "fake-model")
        .env("SWITCHBOARD_STORAGE", "distributed").env("REDIS_URL", redis)
        .file("channels.yaml", "store:\n  key_prefix: \"" + prefix + "ch:\"\n")
        .file("switchboard.yaml", """
            queue:
              workers: %d
              retry_backoff: 50ms
              visibility_timeout: 3s
              shutdown_grace: %s
              key_prefix: "%s"
            """.formatted(workers, grace, prefix + "q:"))
        .start();
    gateways.add(g);
    return g;
  }

  private String submit(TestGateway g, String input) throws Exception {
    HttpResponse<Buffer> r = web.postAbs(g.url("/api/v1/tasks")).bearerTokenAuthentication(g.token("alice"))
        .sendJsonObject(new JsonObject().put("input", input)).await(10, TimeUnit.SECONDS);
    assertEquals(202, r.statusCode(), r.bodyAsString());
    return r.bodyAsJsonObject().getString("id");
  }

  private JsonObject get(TestGateway g, String id) throws Exception {
    return web.getAbs(g.url("/api/v1/tasks/" + id)).bearerTokenAuthentication(g.token("alice")).send()
        .await(10, TimeUnit.SECONDS).bodyAsJsonObject();
  }

  private JsonObject finished(TestGateway g, String id, long ms) throws Exception {
    long deadline = System.currentTimeMillis() + ms;
    JsonObject t;
    do {
      t = get(g, id);
      if (TaskQueue.finished(t.getString("status", ""))) {
        return t;
      }
      Thread.sleep(25);
    } while (System.currentTimeMillis() < deadline);
    throw new AssertionError("task " + id + " stayed " + t.encode());
  }

  @Test
  @DisplayName("tasks accepted by either instance run once each, and either instance answers for any of them")
  void eachTaskRunsOnce() throws Exception {
    upstream.delay(Duration.ofMillis(20));
    TestGateway a = instance(4, "5s");
    TestGateway b = instance(4, "5s");
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      ids.add(submit(i % 2 == 0 ? a : b, "task " + i));
    }
    Set<String> inputs = new HashSet<>();
    for (int i = 0; i < ids.size(); i++) {
      // asked of the instance that did not accept it
      JsonObject t = finished(i % 2 == 0 ? b : a, ids.get(i), 20_000);
      assertEquals("succeeded", t.getString("status"), t.encode());
      assertEquals("echo: task " + i, t.getString("result"));
      assertEquals(1, t.getInteger("attempts"), t.encode());
      inputs.add(t.getString("input"));
    }
    assertEquals(40, inputs.size());
    assertEquals(40, upstream.chatRequestCount(), "one model call per task, over both instances");
  }

  @Test
  @DisplayName("a task running on an instance that stops is handed back and finished by the other")
  void stoppedInstanceHandsOver() throws Exception {
    upstream.delay(Duration.ofMillis(1_500));
    TestGateway a = instance(1, "200ms");
    String id = submit(a, "hand me over");
    long deadline = System.currentTimeMillis() + 10_000;
    while (!"running".equals(get(a, id).getString("status"))) {
      assertTrue(System.currentTimeMillis() < deadline, "the task never started");
      Thread.sleep(20);
    }
    TestGateway b = instance(1, "5s");
    upstream.delay(Duration.ZERO);
    a.stop();
    JsonObject t = finished(b, id, 15_000);
    assertEquals("succeeded", t.getString("status"), t.encode());
    assertEquals("echo: hand me over", t.getString("result"));
  }

  @Test
  @DisplayName("/api/v1/cluster lists both instances, and exactly one of them leads")
  void oneLeader() throws Exception {
    TestGateway a = instance(1, "1s");
    TestGateway b = instance(1, "1s");
    long deadline = System.currentTimeMillis() + 15_000;
    JsonObject cluster;
    do {
      cluster = web.getAbs(a.url("/api/v1/cluster")).bearerTokenAuthentication(a.token("alice")).send()
          .await(10, TimeUnit.SECONDS).bodyAsJsonObject();
      Thread.sleep(100);
    } while (cluster.getJsonArray("data").size() < 2 && System.currentTimeMillis() < deadline);
    assertEquals(2, cluster.getJsonArray("data").size(), cluster.encode());
    long leaders = cluster.getJsonArray("data").stream().filter(e -> ((JsonObject) e).getBoolean("leader")).count();
    assertEquals(1, leaders, cluster.encode());
    boolean aLeads = web.getAbs(a.url("/readyz")).send().await(10, TimeUnit.SECONDS).bodyAsJsonObject()
        .getJsonObject("instance").getBoolean("leader");
    boolean bLeads = web.getAbs(b.url("/readyz")).send().await(10, TimeUnit.SECONDS).bodyAsJsonObject()
        .getJsonObject("instance").getBoolean("leader");
    assertTrue(aLeads ^ bLeads, "one of the two says it leads in /readyz");
  }

  @Test
  @DisplayName("while Redis cannot be reached a submission is 503 within 2 s; once it is back, work resumes within seconds and nothing accepted is lost")
  void redisOutage() throws Exception {
    URI uri = URI.create(redisUrl);
    TcpProxy proxy = TcpProxy.start(vertx, uri.getHost(), uri.getPort()).await(10, TimeUnit.SECONDS);
    String throughProxy = redisUrl.replaceFirst(uri.getHost() + ":" + uri.getPort(), "127.0.0.1:" + proxy.port());
    TestGateway g = instance(2, "1s", throughProxy);
    String before = submit(g, "before the outage");
    assertEquals("succeeded", finished(g, before, 10_000).getString("status"));
    // a task accepted just before the outage, held back so that it is still queued when Redis goes away
    HttpResponse<Buffer> delayed = web.postAbs(g.url("/api/v1/tasks")).bearerTokenAuthentication(g.token("alice"))
        .sendJsonObject(new JsonObject().put("input", "queued across the outage").put("delay", "1s"))
        .await(10, TimeUnit.SECONDS);
    assertEquals(202, delayed.statusCode(), delayed.bodyAsString());
    proxy.down().await(10, TimeUnit.SECONDS);
    long asked = System.nanoTime();
    HttpResponse<Buffer> refused = web.postAbs(g.url("/api/v1/tasks")).bearerTokenAuthentication(g.token("alice"))
        .sendJsonObject(new JsonObject().put("input", "during the outage")).await(10, TimeUnit.SECONDS);
    long tookMs = (System.nanoTime() - asked) / 1_000_000;
    assertEquals(503, refused.statusCode(), refused.bodyAsString());
    assertEquals("store_unavailable", refused.bodyAsJsonObject().getJsonObject("error").getString("code"), refused.bodyAsString());
    // the 2 s bound plus what a loaded test machine adds to one HTTP round trip
    assertTrue(tookMs < 3_000, "answered after " + tookMs + " ms");
    Thread.sleep(2_000);
    proxy.up().await(10, TimeUnit.SECONDS);
    long back = System.currentTimeMillis();
    JsonObject t = finished(g, delayed.bodyAsJsonObject().getString("id"), 15_000);
    assertEquals("succeeded", t.getString("status"), t.encode());
    assertTrue(System.currentTimeMillis() - back < 10_000, "resumed within 10 s of Redis being back");
    String after = submit(g, "after the outage");
    assertEquals("succeeded", finished(g, after, 10_000).getString("status"));
  }
}
