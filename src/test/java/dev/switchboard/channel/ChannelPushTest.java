package dev.switchboard.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakeDingTalk;
import dev.switchboard.testing.FakePlatform;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Task results pushed to Feishu, WeCom and generic webhooks, and how pushes wait and retry. */
@ExtendWith(VertxExtension.class)
@DisplayName("Pushing to platforms")
class ChannelPushTest {

  static final String FEISHU_SECRET = "qu5bYw3KP1tCkgDsM2aXFb";
  static final String HOOK_SECRET = "hook-secret-123";
  static final String DING_SECRET = "SEC0123456789abcdef";

  Vertx vertx;
  FakeUpstream upstream;
  FakePlatform feishu;
  FakePlatform wecom;
  FakePlatform hook;
  FakeDingTalk dingtalk;
  TestGateway gateway;
  WebClient web;
  String token;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    this.vertx = vertx;
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    feishu = FakePlatform.start(vertx, "{\"code\":0,\"data\":{},\"msg\":\"success\"}").await(10, TimeUnit.SECONDS);
    wecom = FakePlatform.start(vertx, "{\"errcode\":0,\"errmsg\":\"ok\"}").await(10, TimeUnit.SECONDS);
    hook = FakePlatform.start(vertx, "{\"ok\":true}").await(10, TimeUnit.SECONDS);
    dingtalk = FakeDingTalk.start(vertx, DING_SECRET).await(10, TimeUnit.SECONDS);
    web = WebClient.create(vertx);
  }

  @AfterEach
  void stop() {
    if (gateway != null) {
      gateway.close();
    }
  }

  private void boot(String dingtalkLimit) {
    boot(dingtalkLimit, "");
  }

  private void boot(String dingtalkLimit, String wecomRetry) {
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "fake-model")
        .file("switchboard.yaml", "queue: { workers: 8 }\n")
        .file("channels.yaml", """
            dingtalk:
              - name: "default"
                webhook: "%s"
                secret: "%s"
                retry: { max_attempts: 3, backoff: 50ms, throttle_pause: 200ms }
            %s
            feishu:
              - name: "alerts"
                webhook: "%s"
                secret: "%s"
            wecom:
              - name: "ops"
                webhook: "%s"
                mentions: { mobiles: ["13800001111"] }
            %s
            webhooks:
              - name: "erp"
                url: "%s"
                secret: "%s"
              - name: "ci"
                secret: "inbound-only"
            """.formatted(dingtalk.webhook(), DING_SECRET, dingtalkLimit, feishu.url("/open-apis/bot/v2/hook/t"),
            FEISHU_SECRET, wecom.url("/cgi-bin/webhook/send?key=k"), wecomRetry, hook.url("/erp"), HOOK_SECRET))
        .start();
    token = gateway.token("alice");
  }

  private Future<JsonObject> runTask(String input, String channel, String bot) {
    JsonObject body = new JsonObject().put("input", input)
        .put("channels", new JsonArray().add(new JsonObject().put("type", channel).put("bot", bot)));
    return web.postAbs(gateway.url("/api/v1/tasks")).bearerTokenAuthentication(token).sendJsonObject(body)
        .compose(r -> r.statusCode() == 202 ? finished(r.bodyAsJsonObject().getString("id"))
            : Future.failedFuture(r.statusCode() + " " + r.bodyAsString()));
  }

  private Future<JsonObject> finished(String id) {
    Promise<JsonObject> done = Promise.promise();
    long deadline = System.currentTimeMillis() + 20_000;
    vertx.setPeriodic(25, timer -> web.getAbs(gateway.url("/api/v1/tasks/" + id)).bearerTokenAuthentication(token).send()
        .map(HttpResponse::bodyAsJsonObject)
        .onSuccess(t -> {
          String status = t.getString("status");
          boolean pushing = t.getJsonArray("deliveries", new JsonArray()).stream()
              .anyMatch(d -> "pending".equals(((JsonObject) d).getString("status")));
          boolean ended = ("succeeded".equals(status) || "failed".equals(status)) && !pushing;
          if (ended || System.currentTimeMillis() > deadline) {
            vertx.cancelTimer(timer);
            done.tryComplete(t);
          }
        }));
    return done.future();
  }

  private Future<JsonObject> deliveriesWhere(String query) {
    return web.getAbs(gateway.url("/api/v1/deliveries" + query)).bearerTokenAuthentication(token).send()
        .map(HttpResponse::bodyAsJsonObject);
  }

  private Future<HttpResponse<io.vertx.core.buffer.Buffer>> retry(String id) {
    return web.postAbs(gateway.url("/api/v1/deliveries/" + id + "/retry")).bearerTokenAuthentication(token).send();
  }

  /** Polls the deliveries API until the delivery leaves pending. */
  private Future<JsonObject> settledDelivery(String id) {
    Promise<JsonObject> done = Promise.promise();
    long deadline = System.currentTimeMillis() + 20_000;
    vertx.setPeriodic(25, timer -> deliveriesWhere("").onSuccess(page -> {
      for (Object o : page.getJsonArray("data")) {
        JsonObject d = (JsonObject) o;
        if (d.getString("id").equals(id) && (!"pending".equals(d.getString("status")) || System.currentTimeMillis() > deadline)) {
          vertx.cancelTimer(timer);
          done.tryComplete(d);
        }
      }
    }));
    return done.future();
  }

  private static JsonObject delivery(JsonObject task) {
    return task.getJsonArray("deliveries").getJsonObject(0);
  }

  @Test
  @DisplayName("Feishu: text message with timestamp (seconds) and sign in the body, by Feishu's algorithm")
  void feishu(VertxTestContext ctx) {
    boot("");
    runTask("飞书你好", "feishu", "alerts").onComplete(ctx.succeeding(t -> ctx.verify(() -> {
      assertEquals("delivered", delivery(t).getString("status"), t.encode());
      JsonObject body = feishu.received().get(0).json();
      assertEquals("text", body.getString("msg_type"));
      assertEquals("echo: 飞书你好", body.getJsonObject("content").getString("text"));
      long ts = Long.parseLong(body.getString("timestamp"));
      assertTrue(Math.abs(System.currentTimeMillis() / 1000 - ts) < 60, "timestamp in seconds");
      assertEquals(FeishuBot.sign(ts, FEISHU_SECRET), body.getString("sign"));
      assertEquals(0, delivery(t).getJsonObject("response").getInteger("code"));
      ctx.completeNow();
    })));
  }

  @Test
  @DisplayName("WeCom: text message with mentions, answered errcode 0")
  void wecom(VertxTestContext ctx) {
    boot("");
    runTask("企业微信", "wecom", "ops").onComplete(ctx.succeeding(t -> ctx.verify(() -> {
      assertEquals("delivered", delivery(t).getString("status"), t.encode());
      FakePlatform.Received r = wecom.received().get(0);
      assertEquals("key=k", r.query());
      JsonObject text = r.json().getJsonObject("text");
      assertEquals("text", r.json().getString("msgtype"));
      assertEquals("echo: 企业微信", text.getString("content"));
      assertEquals(new JsonArray().add("13800001111"), text.getJsonArray("mentioned_mobile_list"));
      ctx.completeNow();
    })));
  }

  @Test
  @DisplayName("generic webhook: JSON body signed with x-switchboard-timestamp and sha256 HMAC over timestamp.body")
  void webhook(VertxTestContext ctx) throws Exception {
    boot("");
    runTask("erp sync", "webhook", "erp").onComplete(ctx.succeeding(t -> ctx.verify(() -> {
      assertEquals("delivered", delivery(t).getString("status"), t.encode());
      FakePlatform.Received r = hook.received().get(0);
      String ts = r.headers().get("x-switchboard-timestamp");
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(HOOK_SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      String expected = "sha256=" + HexFormat.of().formatHex(mac.doFinal((ts + "." + r.body()).getBytes(StandardCharsets.UTF_8)));
      assertEquals(expected, r.headers().get("x-switchboard-signature"));
      assertTrue(r.headers().get("x-switchboard-delivery").length() >= 16, "a delivery id for the receiver's dedup");
      assertEquals("echo: erp sync", r.json().getString("text"));
      ctx.completeNow();
    })));
  }

  @Test
  @DisplayName("an inbound-only webhook cannot be a push target")
  void inboundOnlyWebhook(VertxTestContext ctx) {
    boot("");
    JsonObject body = new JsonObject().put("input", "x")
        .put("channels", new JsonArray().add(new JsonObject().put("type", "webhook").put("bot", "ci")));
    web.postAbs(gateway.url("/api/v1/tasks")).bearerTokenAuthentication(token).sendJsonObject(body)
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertEquals(400, r.statusCode());
          assertTrue(r.bodyAsString().contains("no webhook bot named 'ci' that can push"), r.bodyAsString());
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("a DingTalk throttle answer (130101) is retried after a pause and then delivered")
  void throttledThenDelivered(VertxTestContext ctx) {
    boot("");
    dingtalk.answerOnce(130101, "send too fast, exceed 20 times per minute");
    runTask("busy", "dingtalk", "default").onComplete(ctx.succeeding(t -> ctx.verify(() -> {
      JsonObject d = delivery(t);
      assertEquals("delivered", d.getString("status"), t.encode());
      assertEquals(2, d.getInteger("attempts"));
      assertEquals(2, dingtalk.pushes().size());
      ctx.completeNow();
    })));
  }

  @Test
  @DisplayName("passing faults are retried until the budget runs out: dead, listed, and delivered after a retry")
  void deadLetterAndRetry(VertxTestContext ctx) {
    boot("", "    retry: { max_attempts: 2, backoff: 20ms }");
    wecom.thenAnswer(500, "{\"errcode\":-1,\"errmsg\":\"system busy\"}").thenAnswer(502, "bad gateway");
    String[] id = new String[1];
    runTask("flaky", "wecom", "ops")
        .compose(t -> {
          JsonObject d = delivery(t);
          id[0] = d.getString("id");
          ctx.verify(() -> {
            assertEquals("dead", d.getString("status"), t.encode());
            assertEquals(2, d.getInteger("attempts"));
            assertEquals(502, d.getJsonObject("response").getInteger("http_status"));
          });
          return deliveriesWhere("?status=dead&channel=wecom");
        })
        .compose(page -> {
          ctx.verify(() -> assertEquals(id[0], page.getJsonArray("data").getJsonObject(0).getString("id")));
          return retry(id[0]);
        })
        .compose(r -> {
          ctx.verify(() -> {
            assertEquals(202, r.statusCode(), r.bodyAsString());
            assertEquals("pending", r.bodyAsJsonObject().getString("status"));
          });
          return settledDelivery(id[0]);
        })
        .onComplete(ctx.succeeding(d -> ctx.verify(() -> {
          assertEquals("delivered", d.getString("status"));
          assertEquals(3, d.getInteger("attempts"));
          assertEquals(3, wecom.received().size());
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("a permanent refusal fails at once; a retry by hand delivers it; delivered and unknown ones cannot be retried")
  void failedThenRetried(VertxTestContext ctx) {
    boot("");
    dingtalk.answerOnce(310000, "keywords not in content");
    String[] id = new String[1];
    runTask("no keyword", "dingtalk", "default")
        .compose(t -> {
          JsonObject d = delivery(t);
          id[0] = d.getString("id");
          ctx.verify(() -> {
            assertEquals("failed", d.getString("status"));
            assertEquals(1, d.getInteger("attempts"));
          });
          return retry(id[0]);
        })
        .compose(r -> settledDelivery(id[0]))
        .compose(d -> {
          ctx.verify(() -> assertEquals("delivered", d.getString("status")));
          return retry(id[0]);
        })
        .compose(r -> {
          ctx.verify(() -> assertEquals(409, r.statusCode(), r.bodyAsString()));
          return retry("no-such-delivery");
        })
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertEquals(404, r.statusCode());
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("a push waiting for its retry when the gateway stops is made after it restarts")
  void pendingSurvivesRestart(VertxTestContext ctx) {
    boot("", "    retry: { max_attempts: 3, backoff: 4s }");
    wecom.thenAnswer(503, "unavailable");
    JsonObject body = new JsonObject().put("input", "later")
        .put("channels", new JsonArray().add(new JsonObject().put("type", "wecom").put("bot", "ops")));
    web.postAbs(gateway.url("/api/v1/tasks")).bearerTokenAuthentication(token).sendJsonObject(body)
        .compose(r -> {
          Promise<Void> firstTry = Promise.promise();
          vertx.setPeriodic(25, t -> {
            if (!wecom.received().isEmpty()) {
              vertx.cancelTimer(t);
              firstTry.complete();
            }
          });
          return firstTry.future().map(r.bodyAsJsonObject().getString("id"));
        })
        .compose(taskId -> Future.fromCompletionStage(java.util.concurrent.CompletableFuture.supplyAsync(() -> {
          gateway.restart();
          return taskId;
        })))
        .compose(this::finished)
        .onComplete(ctx.succeeding(t -> ctx.verify(() -> {
          JsonObject d = delivery(t);
          assertEquals("delivered", d.getString("status"), t.encode());
          assertEquals(2, wecom.received().size());
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("a push on the wire when the gateway stops is let finish and recorded: the restarted gateway does not send it again")
  void stopLetsPushFinish(VertxTestContext ctx) {
    boot("");
    hook.answerAfter(java.time.Duration.ofSeconds(1));
    JsonObject body = new JsonObject().put("input", "just before the stop")
        .put("channels", new JsonArray().add(new JsonObject().put("type", "webhook").put("bot", "erp")));
    web.postAbs(gateway.url("/api/v1/tasks")).bearerTokenAuthentication(token).sendJsonObject(body)
        .compose(r -> {
          Promise<Void> onTheWire = Promise.promise();
          vertx.setPeriodic(10, t -> {
            if (!hook.inFlight().isEmpty()) {
              vertx.cancelTimer(t);
              onTheWire.complete();
            }
          });
          return onTheWire.future().map(r.bodyAsJsonObject().getString("id"));
        })
        .compose(taskId -> Future.fromCompletionStage(java.util.concurrent.CompletableFuture.supplyAsync(() -> {
          gateway.restart();
          return taskId;
        })))
        .compose(this::finished)
        .onComplete(ctx.succeeding(t -> ctx.verify(() -> {
          assertEquals("delivered", delivery(t).getString("status"), t.encode());
          assertEquals(1, hook.received().size(), "pushed once");
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("format: markdown sends DingTalk markdown with the mentions named in the text, and WeCom markdown")
  void markdown(VertxTestContext ctx) {
    boot("    format: markdown\n    at: { mobiles: [\"13800001111\"] }", "    format: markdown");
    runTask("## 日报\n- 完成", "dingtalk", "default")
        .compose(t -> {
          ctx.verify(() -> {
            assertEquals("delivered", delivery(t).getString("status"), t.encode());
            JsonObject body = dingtalk.pushes().get(0).body();
            assertEquals("markdown", body.getString("msgtype"));
            assertEquals("echo: ## 日报", body.getJsonObject("markdown").getString("title"), "the first line, as it came");
            assertTrue(body.getJsonObject("markdown").getString("text").endsWith(" @13800001111"), body.encode());
            assertEquals(new JsonArray().add("13800001111"), body.getJsonObject("at").getJsonArray("atMobiles"));
          });
          return runTask("**ok**", "wecom", "ops");
        })
        .onComplete(ctx.succeeding(t -> ctx.verify(() -> {
          JsonObject body = wecom.received().get(0).json();
          assertEquals("markdown", body.getString("msgtype"));
          assertEquals("echo: **ok**", body.getJsonObject("markdown").getString("content"));
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("a burst of 60 pushes under a 20-per-window limit arrives complete, in order, never faster than the limit")
  void burstUnderLimit(VertxTestContext ctx) {
    // the platform's 20 a minute, with the window shrunk to one second so the test runs in seconds
    boot("    rate_limit: { messages: 20, per: 1s }");
    var bus = gateway.vertx().eventBus();
    for (int i = 0; i < 60; i++) {
      bus.request(dev.switchboard.bus.Addresses.CHANNEL_PUSH,
          new dev.switchboard.bus.PushRequest("dingtalk", "default", "m" + i, null, null));
    }
    Promise<Void> all = Promise.promise();
    long deadline = System.currentTimeMillis() + 20_000;
    vertx.setPeriodic(25, id -> {
      if (dingtalk.pushes().size() >= 60 || System.currentTimeMillis() > deadline) {
        vertx.cancelTimer(id);
        all.complete();
      }
    });
    all.future().onComplete(ctx.succeeding(v -> ctx.verify(() -> {
      List<FakeDingTalk.Push> pushes = dingtalk.pushes();
      assertEquals(60, pushes.size());
      for (int i = 0; i < 60; i++) {
        assertEquals("任务执行结果:m" + i, pushes.get(i).body().getJsonObject("text").getString("content"), "order");
      }
      for (int i = 0; i + 20 < 60; i++) {
        long gap = Long.parseLong(pushes.get(i + 20).timestamp()) - Long.parseLong(pushes.get(i).timestamp());
        assertTrue(gap >= 1000, "21 pushes within one window: #" + i + " and #" + (i + 20) + " only " + gap + " ms apart");
      }
      ctx.completeNow();
    })));
  }

  @Test
  @DisplayName("platform-native bodies: a DingTalk actionCard and a Feishu post go as given, {result} filled in, signed")
  void nativeBodies(VertxTestContext ctx) {
    boot("");
    JsonObject card = new JsonObject().put("msgtype", "actionCard").put("actionCard", new JsonObject()
        .put("title", "日报").put("text", "### 今日\n{result}").put("btnOrientation", "0")
        .put("singleTitle", "阅读全文").put("singleURL", "https://example.com/r/1"));
    JsonObject post = new JsonObject().put("msg_type", "post").put("content", new JsonObject().put("post", new JsonObject()
        .put("zh_cn", new JsonObject().put("title", "项目更新").put("content", new JsonArray().add(new JsonArray()
            .add(new JsonObject().put("tag", "text").put("text", "{result}"))
            .add(new JsonObject().put("tag", "a").put("text", "请查看").put("href", "https://example.com")))))));
    JsonObject body = new JsonObject().put("input", "native").put("channels", new JsonArray()
        .add(new JsonObject().put("type", "dingtalk").put("bot", "default").put("message", card))
        .add(new JsonObject().put("type", "feishu").put("bot", "alerts").put("message", post)));
    web.postAbs(gateway.url("/api/v1/tasks")).bearerTokenAuthentication(token).sendJsonObject(body)
        .compose(r -> finished(r.bodyAsJsonObject().getString("id")))
        .onComplete(ctx.succeeding(t -> ctx.verify(() -> {
          t.getJsonArray("deliveries").forEach(d -> assertEquals("delivered", ((JsonObject) d).getString("status"), t.encode()));
          FakeDingTalk.Push push = dingtalk.pushes().get(0);
          assertEquals(dingtalk.expectedSign(Long.parseLong(push.timestamp())), push.sign());
          assertEquals("### 今日\necho: native", push.body().getJsonObject("actionCard").getString("text"));
          assertEquals("https://example.com/r/1", push.body().getJsonObject("actionCard").getString("singleURL"));
          JsonObject sent = feishu.received().get(0).json();
          assertEquals("post", sent.getString("msg_type"));
          assertEquals(FeishuBot.sign(Long.parseLong(sent.getString("timestamp")), FEISHU_SECRET), sent.getString("sign"));
          assertEquals("echo: native", sent.getJsonObject("content").getJsonObject("post").getJsonObject("zh_cn")
              .getJsonArray("content").getJsonArray(0).getJsonObject(0).getString("text"));
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("a native body the platform does not take is refused at submission")
  void nativeRefused(VertxTestContext ctx) {
    boot("");
    JsonObject body = new JsonObject().put("input", "x").put("channels", new JsonArray()
        .add(new JsonObject().put("type", "dingtalk").put("bot", "default").put("message", new JsonObject().put("msgtype", "sticker"))));
    web.postAbs(gateway.url("/api/v1/tasks")).bearerTokenAuthentication(token).sendJsonObject(body)
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertEquals(400, r.statusCode());
          assertTrue(r.bodyAsString().contains("actionCard"), r.bodyAsString());
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("a message being retried keeps its place: the ones behind it wait")
  void retryKeepsOrder(VertxTestContext ctx) {
    boot("", "    retry: { max_attempts: 3, backoff: 100ms }");
    wecom.thenAnswer(500, "{\"errcode\":-1,\"errmsg\":\"system busy\"}");
    var bus = gateway.vertx().eventBus();
    bus.request(dev.switchboard.bus.Addresses.CHANNEL_PUSH, new dev.switchboard.bus.PushRequest("wecom", "ops", "first", null, null));
    bus.request(dev.switchboard.bus.Addresses.CHANNEL_PUSH, new dev.switchboard.bus.PushRequest("wecom", "ops", "second", null, null));
    Promise<Void> three = Promise.promise();
    long deadline = System.currentTimeMillis() + 10_000;
    vertx.setPeriodic(20, id -> {
      if (wecom.received().size() >= 3 || System.currentTimeMillis() > deadline) {
        vertx.cancelTimer(id);
        three.complete();
      }
    });
    three.future().onComplete(ctx.succeeding(v -> ctx.verify(() -> {
      List<String> order = wecom.received().stream()
          .map(r -> r.json().getJsonObject("text").getString("content")).toList();
      assertEquals(List.of("first", "first", "second"), order);
      ctx.completeNow();
    })));
  }

  @Test
  @DisplayName("over the rate limit, pushes wait their turn instead of being dropped")
  void rateLimitWaits(VertxTestContext ctx) {
    dingtalk.answer(0, "ok");
    boot("    rate_limit: { messages: 2, per: 1s }");
    List<Future<JsonObject>> tasks = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      tasks.add(runTask("m" + i, "dingtalk", "default"));
    }
    Future.all(tasks).onComplete(ctx.succeeding(all -> ctx.verify(() -> {
      tasks.forEach(f -> assertEquals("delivered", delivery(f.result()).getString("status"), f.result().encode()));
      List<FakeDingTalk.Push> pushes = dingtalk.pushes();
      assertEquals(4, pushes.size());
      long first = Long.parseLong(pushes.get(0).timestamp());
      long third = Long.parseLong(pushes.get(2).timestamp());
      assertTrue(third - first >= 950, "the third push waited for the window: " + (third - first) + " ms");
      ctx.completeNow();
    })));
  }
}
