package dev.switchboard.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.PushRequest;
import dev.switchboard.testing.FakePlatform;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What platforms answer is read up to a bound (1 MB for push answers, 64 KB for access tokens):
 * beyond it that call fails with a clear message, nothing more is read, and the rest goes on.
 */
@ExtendWith(VertxExtension.class)
@DisplayName("Bounds on what platforms answer")
class AnswerBoundsTest {

  Vertx vertx;
  FakePlatform hook;
  FakePlatform feishuApi;
  TestGateway gateway;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    this.vertx = vertx;
    hook = FakePlatform.start(vertx, "{\"ok\":true}").await(10, TimeUnit.SECONDS);
    // a token answer that is valid JSON with a token in it, padded far past anything real
    feishuApi = FakePlatform.start(vertx, new JsonObject().put("code", 0).put("msg", "ok").put("tenant_access_token", "t-big")
        .put("expire", 7200).put("pad", "x".repeat(100 * 1024)).encode()).await(10, TimeUnit.SECONDS);
    gateway = TestGateway.builder().file("channels.yaml", """
        webhooks:
          - name: "erp"
            url: "%s"
            secret: "s"
            retry: { max_attempts: 1 }
        feishu:
          - name: "assistant"
            app_id: "cli_x"
            app_secret: "secret"
            verification_token: "v"
            encrypt_key: "k"
            domain: "%s"
            retry: { max_attempts: 1 }
        """.formatted(hook.url("/erp"), feishuApi.url(""))).start();
  }

  @AfterEach
  void stop() {
    gateway.close();
  }

  private Future<JsonObject> push(String channel, String bot, String text, JsonObject address) {
    return gateway.vertx().eventBus().<JsonObject>request(Addresses.CHANNEL_PUSH, new PushRequest(channel, bot, text, null, address))
        .compose(m -> settled(m.body().getString("id")));
  }

  /** The delivery once it has left pending (bounded: 15 s). */
  private Future<JsonObject> settled(String id) {
    Promise<JsonObject> done = Promise.promise();
    long deadline = System.currentTimeMillis() + 15_000;
    vertx.setPeriodic(25, timer -> gateway.vertx().eventBus().<JsonObject>request(Addresses.CHANNEL_DELIVERIES, new JsonObject())
        .onSuccess(page -> page.body().getJsonArray("data").stream().map(JsonObject.class::cast)
            .filter(d -> id.equals(d.getString("id")))
            .filter(d -> !"pending".equals(d.getString("status")) || System.currentTimeMillis() > deadline)
            .findFirst().ifPresent(d -> {
              vertx.cancelTimer(timer);
              done.tryComplete(d);
            })));
    return done.future();
  }

  @Test
  @DisplayName("a push answered with more than 1 MB fails (dead, saying why) and the next push is delivered")
  void largePushAnswer(VertxTestContext ctx) {
    hook.thenAnswer(200, "{\"ok\":true,\"pad\":\"" + "x".repeat(2 * 1024 * 1024) + "\"}");
    push("webhook", "erp", "first", null)
        .compose(first -> push("webhook", "erp", "second", null).map(second -> new JsonObject().put("first", first).put("second", second)))
        .onComplete(ctx.succeeding(both -> ctx.verify(() -> {
          JsonObject first = both.getJsonObject("first");
          assertEquals("dead", first.getString("status"), first.encode());
          assertTrue(first.getJsonObject("response").getString("error").contains("larger than 1 MB"), first.encode());
          JsonObject second = both.getJsonObject("second");
          assertEquals("delivered", second.getString("status"), second.encode());
          assertEquals(2, hook.received().size());
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("an access-token answer over 64 KB is not taken: the reply fails saying why, and no reply is sent")
  void largeTokenAnswer(VertxTestContext ctx) {
    push("feishu", "assistant", "hi", new JsonObject().put("message_id", "om_1").put("chat_id", "oc_1"))
        .onComplete(ctx.succeeding(d -> ctx.verify(() -> {
          assertEquals("dead", d.getString("status"), d.encode());
          assertTrue(d.getJsonObject("response").getString("error").contains("larger than 64 KB"), d.encode());
          assertTrue(feishuApi.received().stream().noneMatch(r -> r.path().endsWith("/reply")), "no reply with a token never read");
          ctx.completeNow();
        })));
  }

  /** Records at WARNING and above, from any logger of this JVM. */
  static final class Warnings extends Handler {
    final List<String> records = Collections.synchronizedList(new ArrayList<>());

    @Override
    public void publish(LogRecord r) {
      if (r.getLevel().intValue() >= Level.WARNING.intValue()) {
        records.add(r.getLevel() + " " + r.getLoggerName() + ": " + r.getMessage()
            + (r.getThrown() == null ? "" : " (" + r.getThrown() + ")"));
      }
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
    }
  }

  @Test
  @DisplayName("a push answer whose Content-Length is over 1 MB is cut without a logged stream reset")
  void largePushAnswerQuiet() throws Exception {
    hook.thenAnswer(200, "{\"ok\":true,\"pad\":\"" + "x".repeat(2 * 1024 * 1024) + "\"}");
    Warnings warnings = new Warnings();
    Logger root = Logger.getLogger("");
    root.addHandler(warnings);
    try {
      JsonObject d = push("webhook", "erp", "first", null).toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
      assertEquals("dead", d.getString("status"), d.encode());
      // whatever the cut connection is going to log is logged within moments
      Thread.sleep(500);
    } finally {
      root.removeHandler(warnings);
    }
    assertTrue(warnings.records.isEmpty(), String.join("\n", warnings.records));
  }
}
