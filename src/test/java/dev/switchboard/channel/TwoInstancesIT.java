package dev.switchboard.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.PushRequest;
import dev.switchboard.testing.FakePlatform;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TcpProxy;
import dev.switchboard.testing.TestGateway;
import dev.switchboard.testing.TestRedis;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Two gateways behind one load balancer, as the distributed profile runs them: each with a data
 * dir of its own, both on one Redis (and PostgreSQL, for memory, when DATABASE_URL is set). What
 * one instance claims, records or sends counts for the other: a Feishu event that reaches both is
 * answered once, a bot's rate limit holds for both together, and a delivery one of them leaves
 * pending is completed by the other. Needs REDIS_URL (scripts/test.sh provides it); fails without.
 */
@ExtendWith(VertxExtension.class)
@DisplayName("Two gateway instances sharing Redis")
class TwoInstancesIT {

  static final String SINK_SECRET = "sink-secret";
  /** Feishu's OpenAPI as the gateway uses it: one answer that is a tenant token and a successful reply at once. */
  static final String FEISHU_ANSWER = "{\"code\":0,\"msg\":\"success\",\"tenant_access_token\":\"t-fake\",\"expire\":7200,\"data\":{}}";

  static String redisUrl;
  Vertx vertx;
  FakeUpstream upstream;
  FakePlatform feishu;
  FakePlatform sink;
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
    prefix = "sbtest-two:" + UUID.randomUUID().toString().substring(0, 8) + ":";
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    feishu = FakePlatform.start(vertx, FEISHU_ANSWER).await(10, TimeUnit.SECONDS);
    sink = FakePlatform.start(vertx, "{\"ok\":true}").await(10, TimeUnit.SECONDS);
    web = WebClient.create(vertx);
  }

  @AfterEach
  void stop() throws Exception {
    for (TestGateway g : gateways) {
      g.close();
    }
    TestRedis.deleteUnder(vertx, redisUrl, prefix);
  }

  /** One instance: distributed profile on {@code redis}, this test's key prefix, short leases so take-overs come fast. */
  TestGateway instance(String redis, String sinkRetry) {
    // one deployment: the same queue (and with it the inbound event store) for both instances
    TestGateway.Builder builder = TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "fake-model")
        .env("SWITCHBOARD_STORAGE", "distributed").env("REDIS_URL", redis).env("SWITCHBOARD_QUEUE_PREFIX", prefix + "q:")
        .file("channels.yaml", """
            store:
              key_prefix: "%s"
              lease: 2s
            feishu:
              - name: "assistant"
                app_id: "cli_9f5343c580712544"
                app_secret: "app-secret"
                verification_token: "rvaYgkND1GOiu5MM0E1rncYC6PLtF7JV"
                encrypt_key: "test key"
                domain: "%s"
            webhooks:
              - name: "sink"
                url: "%s"
                secret: "%s"
                rate_limit: { messages: 5, per: 2s }
                retry: %s
            """.formatted(prefix, feishu.url(""), sink.url("/hook"), SINK_SECRET, sinkRetry));
    String database = System.getenv("DATABASE_URL");
    if (database != null) {
      builder.env("DATABASE_URL", database);
    }
    TestGateway g = builder.start();
    gateways.add(g);
    return g;
  }

  TestGateway instance() {
    return instance(redisUrl, "{ max_attempts: 5, backoff: 100ms }");
  }

  static void waitUntil(BooleanSupplier condition, long ms, String what) throws InterruptedException {
    long deadline = System.currentTimeMillis() + ms;
    while (!condition.getAsBoolean()) {
      assertTrue(System.currentTimeMillis() < deadline, "timed out waiting for: " + what);
      Thread.sleep(25);
    }
  }

  private Future<HttpResponse<Buffer>> feishuEvent(TestGateway g, String ts) {
    byte[] body = FeishuEventsTest.E5_BODY.getBytes(StandardCharsets.UTF_8);
    return web.postAbs(g.url("/webhooks/feishu/assistant")).putHeader("content-type", "application/json")
        .putHeader("X-Lark-Request-Timestamp", ts).putHeader("X-Lark-Request-Nonce", "13859")
        .putHeader("X-Lark-Signature", FeishuEventsTest.TEST_KEY.signature(ts, "13859", body))
        .sendBuffer(Buffer.buffer(body));
  }

  private long replies() {
    return feishu.received().stream().filter(r -> r.path().endsWith("/reply")).count();
  }

  @Test
  @DisplayName("a Feishu event delivered to both instances, and delivered again, gets one task and one reply")
  void feishuEventAnsweredOnce() throws Exception {
    TestGateway a = instance();
    TestGateway b = instance();
    String ts = String.valueOf(System.currentTimeMillis() / 1000);
    // the same request reaches both (a retrying balancer), at the same time
    List<HttpResponse<Buffer>> first = Future.all(feishuEvent(a, ts), feishuEvent(b, ts)).await(20, TimeUnit.SECONDS).list();
    for (HttpResponse<Buffer> r : first) {
      assertEquals(200, r.statusCode(), r.bodyAsString());
      assertEquals(new JsonObject().put("msg", "success"), r.bodyAsJsonObject());
    }
    waitUntil(() -> replies() >= 1, 20_000, "the reply");
    // Feishu delivers the event again, signed afresh, to whichever instance
    String later = String.valueOf(Long.parseLong(ts) + 1);
    for (TestGateway g : List.of(b, a)) {
      HttpResponse<Buffer> again = feishuEvent(g, later).await(20, TimeUnit.SECONDS);
      assertEquals(200, again.statusCode(), again.bodyAsString());
    }
    // a second task, had one started, would have answered within this time as the first did
    Thread.sleep(2_000);
    assertEquals(1, upstream.chatRequestCount(), "one task ran the model");
    assertEquals(1, replies(), "one reply: " + feishu.received());
  }

  @Test
  @DisplayName("a bot's rate limit holds for both instances together: 20 pushes split over two, never more than 5 in any 2 s")
  void rateLimitAcrossInstances() throws Exception {
    TestGateway a = instance();
    TestGateway b = instance();
    List<Future<?>> recorded = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      TestGateway g = i % 2 == 0 ? a : b;
      recorded.add(g.vertx().eventBus().request(Addresses.CHANNEL_PUSH, new PushRequest("webhook", "sink", "m" + i, null, null)));
    }
    Future.all(recorded).await(20, TimeUnit.SECONDS);
    waitUntil(() -> sink.received().size() >= 20, 40_000, "20 pushes");
    List<Long> at = sink.received().stream().map(FakePlatform.Received::atMillis).sorted().toList();
    assertEquals(20, at.size());
    // arrivals, not departures, with a little tolerance for the loopback's jitter
    long window = 2_000 - 50;
    for (int i = 0; i < at.size(); i++) {
      int n = 0;
      for (long t : at) {
        if (t >= at.get(i) && t < at.get(i) + window) {
          n++;
        }
      }
      assertTrue(n <= 5, n + " pushes within 2 s from arrival #" + i + ": " + at);
    }
    List<String> texts = sink.received().stream().map(r -> r.json().getString("text")).sorted().toList();
    assertEquals(20, texts.stream().distinct().count(), "each push once");
  }

  @Test
  @DisplayName("a delivery left pending by an instance that died (its Redis cut, then stopped) is completed by the other once its lease runs out")
  void pendingCompletedByTheOther() throws Exception {
    URI uri = URI.create(redisUrl);
    TcpProxy proxy = TcpProxy.start(vertx, uri.getHost(), uri.getPort()).await(10, TimeUnit.SECONDS);
    String throughProxy = redisUrl.replaceFirst(uri.getHost() + ":" + uri.getPort(), "127.0.0.1:" + proxy.port());
    // a's first attempt fails and its retry is far off: the delivery is pending in a's hands
    TestGateway a = instance(throughProxy, "{ max_attempts: 5, backoff: 60s }");
    TestGateway b = instance();
    sink.thenAnswer(500, "{\"error\":\"passing fault\"}");
    String task = "task-" + UUID.randomUUID();
    JsonObject record = a.vertx().eventBus().<JsonObject>request(Addresses.CHANNEL_PUSH,
        new PushRequest("webhook", "sink", "left behind", task, null)).await(20, TimeUnit.SECONDS).body();
    waitUntil(() -> sink.received().size() == 1, 20_000, "a's first attempt");
    // a dies: it cannot renew its lease or hand the delivery back
    proxy.down().await(10, TimeUnit.SECONDS);
    a.stop();
    waitUntil(() -> sink.received().size() >= 2, 20_000, "b's attempt");
    waitUntil(() -> "delivered".equals(ofTask(b, task).getJsonObject(0).getString("status")), 20_000, "recorded delivered");
    JsonObject delivered = ofTask(b, task).getJsonObject(0);
    assertEquals(record.getString("id"), delivered.getString("id"));
    List<FakePlatform.Received> got = sink.received();
    assertEquals(2, got.size(), "sent once by each, nothing more: " + got);
    assertEquals(record.getString("id"), got.get(1).headers().get("x-switchboard-delivery"));
    assertEquals("left behind", got.get(1).json().getString("text"));
  }

  @Test
  @DisplayName("an instance that stops gracefully hands its pending deliveries back, and the other completes them without waiting for the lease")
  void gracefulStopHandsBack() throws Exception {
    TestGateway a = instance(redisUrl, "{ max_attempts: 5, backoff: 60s }");
    TestGateway b = instance();
    sink.thenAnswer(500, "{\"error\":\"passing fault\"}");
    String task = "task-" + UUID.randomUUID();
    a.vertx().eventBus().request(Addresses.CHANNEL_PUSH, new PushRequest("webhook", "sink", "handed over", task, null))
        .await(20, TimeUnit.SECONDS);
    waitUntil(() -> sink.received().size() == 1, 20_000, "a's first attempt");
    a.stop();
    waitUntil(() -> "delivered".equals(ofTask(b, task).getJsonObject(0).getString("status")), 20_000, "completed by b");
    assertEquals(2, sink.received().size());
  }

  @Test
  @DisplayName("a task's deliveries are the same seen from either instance")
  void deliveriesSeenFromEither() throws Exception {
    TestGateway a = instance();
    TestGateway b = instance();
    String task = "task-" + UUID.randomUUID();
    a.vertx().eventBus().request(Addresses.CHANNEL_PUSH, new PushRequest("webhook", "sink", "seen", task, null))
        .await(20, TimeUnit.SECONDS);
    waitUntil(() -> "delivered".equals(ofTask(b, task).getJsonObject(0).getString("status")), 20_000, "delivered");
    // the task runs again on b: the result is not pushed a second time
    JsonObject again = b.vertx().eventBus().<JsonObject>request(Addresses.CHANNEL_PUSH,
        new PushRequest("webhook", "sink", "seen", task, null)).await(20, TimeUnit.SECONDS).body();
    assertEquals("delivered", again.getString("status"));
    assertEquals(ofTask(a, task), ofTask(b, task));
    Thread.sleep(500);
    assertEquals(1, sink.received().size());
  }

  private static JsonArray ofTask(TestGateway g, String task) {
    try {
      return g.vertx().eventBus().<JsonArray>request(Addresses.CHANNEL_TASK_DELIVERIES, task).await(10, TimeUnit.SECONDS).body();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
