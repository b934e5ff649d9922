package dev.switchboard.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.Failure;
import dev.switchboard.bus.Health;
import dev.switchboard.bus.PushRequest;
import dev.switchboard.testing.FakePlatform;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TcpProxy;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The channel component of a distributed gateway while its Redis goes away and comes back (a relay
 * the test cuts, longer than a delivery's lease): inbound messages are answered 503 so that the
 * platform sends them again, pushes that were accepted wait and are delivered once each when Redis
 * is back, new pushes are refused with the reason, readiness says so, and all of it recovers without
 * a restart. Needs REDIS_URL (scripts/test.sh provides it); fails without.
 */
@ExtendWith(VertxExtension.class)
@DisplayName("Channels while Redis is down")
class ChannelRedisOutageIT {

  Vertx vertx;
  FakeUpstream upstream;
  FakePlatform feishu;
  FakePlatform sink;
  TcpProxy proxy;
  TestGateway gateway;
  WebClient web;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    String redisUrl = System.getenv("REDIS_URL");
    assertNotNull(redisUrl, "REDIS_URL is not set: run the tests with scripts/test.sh, which starts Redis");
    this.vertx = vertx;
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    feishu = FakePlatform.start(vertx, TwoInstancesIT.FEISHU_ANSWER).await(10, TimeUnit.SECONDS);
    sink = FakePlatform.start(vertx, "{\"ok\":true}").await(10, TimeUnit.SECONDS);
    web = WebClient.create(vertx);
    URI uri = URI.create(redisUrl);
    proxy = TcpProxy.start(vertx, uri.getHost(), uri.getPort()).await(10, TimeUnit.SECONDS);
    TestGateway.Builder builder = TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "fake-model")
        .env("SWITCHBOARD_STORAGE", "distributed")
        .env("REDIS_URL", redisUrl.replaceFirst(uri.getHost() + ":" + uri.getPort(), "127.0.0.1:" + proxy.port()))
        .file("channels.yaml", """
            store:
              key_prefix: "sbtest-outage:%s:"
              lease: 3s
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
                secret: "sink-secret"
            """.formatted(UUID.randomUUID(), feishu.url(""), sink.url("/hook")));
    if (System.getenv("DATABASE_URL") != null) {
      builder.env("DATABASE_URL", System.getenv("DATABASE_URL"));
    }
    gateway = builder.start();
  }

  @AfterEach
  void stop() {
    if (gateway != null) {
      gateway.close();
    }
  }

  static void waitUntil(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.currentTimeMillis() + 30_000;
    while (!condition.getAsBoolean()) {
      assertTrue(System.currentTimeMillis() < deadline, "timed out waiting for: " + what);
      Thread.sleep(25);
    }
  }

  private Future<HttpResponse<Buffer>> feishuEvent(String ts) {
    byte[] body = FeishuEventsTest.E5_BODY.getBytes(StandardCharsets.UTF_8);
    return web.postAbs(gateway.url("/webhooks/feishu/assistant")).putHeader("content-type", "application/json")
        .putHeader("X-Lark-Request-Timestamp", ts).putHeader("X-Lark-Request-Nonce", "13859")
        .putHeader("X-Lark-Signature", FeishuEventsTest.TEST_KEY.signature(ts, "13859", body))
        .sendBuffer(Buffer.buffer(body));
  }

  private JsonObject push(String text, String task) throws Exception {
    return gateway.vertx().eventBus().<JsonObject>request(Addresses.CHANNEL_PUSH, new PushRequest("webhook", "sink", text, task, null))
        .await(20, TimeUnit.SECONDS).body();
  }

  private String status(String task) {
    try {
      JsonArray d = gateway.vertx().eventBus().<JsonArray>request(Addresses.CHANNEL_TASK_DELIVERIES, task).await(10, TimeUnit.SECONDS).body();
      return d.isEmpty() ? null : d.getJsonObject(0).getString("status");
    } catch (Exception stillDown) {
      return null;
    }
  }

  private JsonObject health() throws Exception {
    return gateway.vertx().eventBus().<Health>request(dev.switchboard.bus.Addresses.CHANNEL_HEALTH, null).await(20, TimeUnit.SECONDS).body().entries();
  }

  @Test
  @DisplayName("inbound answers 503 and pushes wait while Redis is down; what was accepted is delivered once each when it is back")
  void outage() throws Exception {
    String first = "t1-" + UUID.randomUUID();
    String second = "t2-" + UUID.randomUUID();
    // answered well within an attempt's deadline (what is left of the 3 s lease), but after Redis is gone
    sink.answerAfter(java.time.Duration.ofMillis(500));
    push("on the wire", first);
    push("in line", second);
    waitUntil(() -> sink.received().size() == 1, "the first push on the wire");

    proxy.down().await(10, TimeUnit.SECONDS);
    HttpResponse<Buffer> refused = feishuEvent(String.valueOf(System.currentTimeMillis() / 1000)).await(20, TimeUnit.SECONDS);
    assertEquals(503, refused.statusCode(), refused.bodyAsString());
    assertTrue(refused.bodyAsString().contains("Redis is unavailable"), refused.bodyAsString());
    Throwable notAccepted = gateway.vertx().eventBus().request(Addresses.CHANNEL_PUSH, new PushRequest("webhook", "sink", "x", null, null))
        .transform(ar -> Future.succeededFuture(ar.cause())).await(20, TimeUnit.SECONDS);
    assertNotNull(notAccepted, "a push that cannot be recorded is not accepted");
    assertEquals(503, Failure.from(notAccepted).status());
    assertTrue(Failure.from(notAccepted).getMessage().contains("Redis is unavailable"), notAccepted.getMessage());
    JsonObject down = health();
    assertEquals("down", down.getJsonObject("deliveries").getString("status"));
    assertTrue(down.getJsonObject("deliveries").getString("error").contains("Redis"), down.encode());
    assertEquals("down", down.getJsonObject("claims").getString("status"));
    assertTrue(!new Health(down).ready());

    // the platform has answered the push on the wire, whose outcome cannot be recorded now; the
    // outage outlasts the deliveries' leases
    Thread.sleep(4_000);
    assertEquals(1, sink.received().size(), "the push in line waits for the first one's outcome to be recorded");

    proxy.up().await(10, TimeUnit.SECONDS);
    waitUntil(() -> "delivered".equals(status(first)) && "delivered".equals(status(second)), "both delivered");
    List<String> texts = sink.received().stream().map(r -> r.json().getString("text")).toList();
    assertEquals(List.of("on the wire", "in line"), texts, "each once, in order");

    HttpResponse<Buffer> again = feishuEvent(String.valueOf(System.currentTimeMillis() / 1000 + 1)).await(20, TimeUnit.SECONDS);
    assertEquals(200, again.statusCode(), again.bodyAsString());
    waitUntil(() -> feishu.received().stream().anyMatch(r -> r.path().endsWith("/reply")), "the event answered once Redis is back");
    waitUntil(() -> {
      try {
        return new Health(health()).ready();
      } catch (Exception e) {
        return false;
      }
    }, "ready again");
  }
}
