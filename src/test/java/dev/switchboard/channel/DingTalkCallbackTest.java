package dev.switchboard.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakePlatform;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Someone @-mentions the DingTalk app robot; the answer comes back in the same conversation. */
@ExtendWith(VertxExtension.class)
@DisplayName("DingTalk enterprise robot callbacks")
class DingTalkCallbackTest {

  static final String APP_SECRET = "this is secret";

  Vertx vertx;
  FakeUpstream upstream;
  FakePlatform session;
  /** DingTalk's OpenAPI: one answer serves both the token and the send endpoint. */
  FakePlatform openApi;
  /** An address inside the network that a forged message might name as its sessionWebhook. */
  FakePlatform internal;
  TestGateway gateway;
  WebClient web;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    this.vertx = vertx;
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    session = FakePlatform.start(vertx, "{\"errcode\":0,\"errmsg\":\"ok\"}").await(10, TimeUnit.SECONDS);
    openApi = FakePlatform.start(vertx, "{\"accessToken\":\"at-1\",\"expireIn\":7200,\"processQueryKey\":\"q-1\"}")
        .await(10, TimeUnit.SECONDS);
    internal = FakePlatform.start(vertx, "{\"errcode\":0,\"errmsg\":\"ok\"}").await(10, TimeUnit.SECONDS);
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "fake-model")
        .file("channels.yaml", """
            dingtalk:
              - name: "assistant"
                app_key: "ding-app-key"
                app_secret: "%s"
                robot_code: "ding-robot"
                mode: "callback"
                api_base: "%s"
                session_webhook_hosts: ["%s"]
              - name: "guarded"
                app_key: "ding-app-key-2"
                app_secret: "%s"
                mode: "callback"
                allow: { users: ["boss"] }
                session_webhook_hosts: ["%s"]
            """.formatted(APP_SECRET, openApi.url(""), session.url(""), APP_SECRET, session.url("")))
        .start();
    web = WebClient.create(vertx);
  }

  @AfterEach
  void stop() {
    gateway.close();
  }

  @Test
  @DisplayName("the callback sign is DingTalk 加签 with the app secret, vector D2 in its Base64 form")
  void vectorD2() {
    DingTalkApp app = new DingTalkApp("a", "k", APP_SECRET, "r", "callback", "{result}", null, null, null);
    assertEquals("hmPWwU+7lVdm3ZZz0r9tSfx0L4Q26jWOZr9+Gs6EZQM=", app.expectedSign(1577262236757L));
  }

  private static String sign(long ts, String secret) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    return Base64.getEncoder().encodeToString(mac.doFinal((ts + "\n" + secret).getBytes(StandardCharsets.UTF_8)));
  }

  /** The official example body, pointed at the fake session webhook. */
  private JsonObject message(String msgId, String text) {
    return new JsonObject()
        .put("conversationId", "cid-1")
        .put("atUsers", new JsonArray().add(new JsonObject().put("dingtalkId", "x").put("staffId", "x")))
        .put("chatbotCorpId", "dinge8a565xxxx").put("chatbotUserId", "$:LWCP_v1:$Cxxxxx")
        .put("msgId", msgId).put("senderNick", "杨xx").put("isAdmin", true).put("senderStaffId", "user123")
        .put("sessionWebhookExpiredTime", System.currentTimeMillis() + 5_400_000).put("createAt", System.currentTimeMillis())
        .put("senderCorpId", "dinge8a565xxxx").put("conversationType", "2").put("senderId", "$:LWCP_v1:$Ff09GIxxxxx")
        .put("conversationTitle", "机器人测试-TEST").put("isInAtList", true)
        .put("sessionWebhook", session.url("/robot/sendBySession?session=xxxxx"))
        .put("text", new JsonObject().put("content", " " + text)).put("msgtype", "text");
  }

  private Future<HttpResponse<Buffer>> post(String bot, JsonObject body, long ts, String secret) throws Exception {
    return web.postAbs(gateway.url("/webhooks/dingtalk/" + bot))
        .putHeader("timestamp", String.valueOf(ts))
        .putHeader("sign", sign(ts, secret))
        .sendJsonObject(body);
  }

  /** Completes when the session webhook has received {@code n} replies (bounded: 15 s). */
  private Future<Void> replies(int n) {
    Promise<Void> p = Promise.promise();
    long deadline = System.currentTimeMillis() + 15_000;
    vertx.setPeriodic(25, id -> {
      if (session.received().size() >= n || System.currentTimeMillis() > deadline) {
        vertx.cancelTimer(id);
        p.complete();
      }
    });
    return p.future();
  }

  @Test
  @DisplayName("a group message is acknowledged at once and answered through the sessionWebhook, @-mentioning the sender")
  void answersInConversation(VertxTestContext ctx) throws Exception {
    post("assistant", message("msg-1", "你好"), System.currentTimeMillis(), APP_SECRET)
        .compose(r -> {
          ctx.verify(() -> assertEquals(200, r.statusCode(), r.bodyAsString()));
          return replies(1);
        })
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          FakePlatform.Received reply = session.received().get(0);
          assertEquals("session=xxxxx", reply.query());
          assertEquals(new JsonObject()
                  .put("msgtype", "text")
                  .put("text", new JsonObject().put("content", "echo: 你好"))
                  .put("at", new JsonObject().put("atUserIds", new JsonArray().add("user123"))),
              reply.json());
          assertEquals("你好", upstream.chatRequests().get(0).getJsonArray("messages").getJsonObject(0).getString("content"));
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("when the session webhook has expired, the answer goes as the robot through the OpenAPI with an app token")
  void expiredSessionUsesOpenApi(VertxTestContext ctx) throws Exception {
    JsonObject body = message("msg-x", "迟到的回答").put("sessionWebhookExpiredTime", System.currentTimeMillis() - 1000);
    post("assistant", body, System.currentTimeMillis(), APP_SECRET)
        .compose(r -> {
          Promise<Void> p = Promise.promise();
          long deadline = System.currentTimeMillis() + 15_000;
          vertx.setPeriodic(25, id -> {
            if (openApi.received().size() >= 2 || System.currentTimeMillis() > deadline) {
              vertx.cancelTimer(id);
              p.complete();
            }
          });
          return p.future();
        })
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          assertTrue(session.received().isEmpty(), "the expired session webhook is not used");
          FakePlatform.Received token = openApi.received().get(0);
          assertEquals("/v1.0/oauth2/accessToken", token.path());
          assertEquals(new JsonObject().put("appKey", "ding-app-key").put("appSecret", APP_SECRET), token.json());
          FakePlatform.Received send = openApi.received().get(1);
          assertEquals("/v1.0/robot/groupMessages/send", send.path());
          assertEquals("at-1", send.headers().get("x-acs-dingtalk-access-token"));
          assertEquals("ding-robot", send.json().getString("robotCode"));
          assertEquals("cid-1", send.json().getString("openConversationId"));
          assertEquals("sampleText", send.json().getString("msgKey"));
          assertEquals("echo: 迟到的回答", new JsonObject(send.json().getString("msgParam")).getString("content"));
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("a re-delivered message (same msgId) gets one answer, not two")
  void redeliveryAnsweredOnce(VertxTestContext ctx) throws Exception {
    JsonObject body = message("msg-2", "只回答一次");
    post("assistant", body, System.currentTimeMillis(), APP_SECRET)
        .compose(r -> replies(1))
        .compose(v -> {
          try {
            return post("assistant", body, System.currentTimeMillis(), APP_SECRET);
          } catch (Exception e) {
            return Future.failedFuture(e);
          }
        })
        .compose(r -> {
          ctx.verify(() -> assertEquals(200, r.statusCode()));
          Promise<Void> settle = Promise.promise();
          vertx.setTimer(500, id -> settle.complete());
          return settle.future();
        })
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          assertEquals(1, session.received().size());
          assertEquals(1, upstream.chatRequestCount());
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("messages from people outside allow.users, and group messages that do not @ the robot, get no answer")
  void policy(VertxTestContext ctx) throws Exception {
    post("guarded", message("msg-p1", "hi"), System.currentTimeMillis(), APP_SECRET)
        .compose(r -> {
          ctx.verify(() -> assertEquals(200, r.statusCode()));
          try {
            return post("assistant", message("msg-p2", "hi").put("isInAtList", false), System.currentTimeMillis(), APP_SECRET);
          } catch (Exception e) {
            return Future.failedFuture(e);
          }
        })
        .compose(r -> {
          ctx.verify(() -> assertEquals(200, r.statusCode()));
          Promise<Void> settle = Promise.promise();
          vertx.setTimer(400, id -> settle.complete());
          return settle.future();
        })
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          assertEquals(0, upstream.chatRequestCount());
          assertTrue(session.received().isEmpty());
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("the agent sees the conversation's recent turns, kept per sender in a group")
  void conversationHistory(VertxTestContext ctx) throws Exception {
    post("assistant", message("msg-h1", "我叫小明"), System.currentTimeMillis(), APP_SECRET)
        .compose(r -> replies(1))
        .compose(v -> {
          try {
            return post("assistant", message("msg-h2", "我叫什么?"), System.currentTimeMillis(), APP_SECRET);
          } catch (Exception e) {
            return Future.failedFuture(e);
          }
        })
        .compose(r -> replies(2))
        .compose(v -> {
          try {
            return post("assistant", message("msg-h3", "你好").put("senderStaffId", "someone-else"), System.currentTimeMillis(), APP_SECRET);
          } catch (Exception e) {
            return Future.failedFuture(e);
          }
        })
        .compose(r -> replies(3))
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          JsonArray second = upstream.chatRequests().get(1).getJsonArray("messages");
          assertEquals(3, second.size(), second.encode());
          assertEquals(new JsonObject().put("role", "user").put("content", "我叫小明"), second.getJsonObject(0));
          assertEquals(new JsonObject().put("role", "assistant").put("content", "echo: 我叫小明"), second.getJsonObject(1));
          assertEquals("我叫什么?", second.getJsonObject(2).getString("content"));
          assertEquals(1, upstream.chatRequests().get(2).getJsonArray("messages").size(), "another sender starts afresh");
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("a wrong sign, a timestamp over an hour old and an unknown robot are refused")
  void refused(VertxTestContext ctx) throws Exception {
    long now = System.currentTimeMillis();
    post("assistant", message("m", "x"), now, "another secret")
        .compose(r -> {
          ctx.verify(() -> assertEquals(401, r.statusCode()));
          try {
            return post("assistant", message("m", "x"), now - 3_700_000, APP_SECRET);
          } catch (Exception e) {
            return Future.failedFuture(e);
          }
        })
        .compose(r -> {
          ctx.verify(() -> assertEquals(401, r.statusCode()));
          try {
            return post("nobody", message("m", "x"), now, APP_SECRET);
          } catch (Exception e) {
            return Future.failedFuture(e);
          }
        })
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertEquals(404, r.statusCode());
          assertTrue(session.received().isEmpty());
          assertEquals(0, upstream.chatRequestCount());
          ctx.completeNow();
        })));
  }

  private Future<Void> settle(long ms) {
    Promise<Void> p = Promise.promise();
    vertx.setTimer(ms, id -> p.complete());
    return p.future();
  }

  @Test
  @DisplayName("a message whose sessionWebhook is not on session_webhook_hosts is refused with 400; nothing is asked or posted there")
  void foreignSessionWebhookRefused(VertxTestContext ctx) throws Exception {
    JsonObject forged = message("msg-f1", "把答案发到内网").put("sessionWebhook", internal.url("/admin/delete?all=1"));
    post("assistant", forged, System.currentTimeMillis(), APP_SECRET)
        .compose(r -> settle(400).map(r))
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertEquals(400, r.statusCode(), r.bodyAsString());
          assertTrue(r.bodyAsString().contains("session_webhook_hosts"), r.bodyAsString());
          assertEquals(0, upstream.chatRequestCount());
          assertTrue(internal.received().isEmpty());
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("a push to a sessionWebhook off session_webhook_hosts fails at push time too, without a request there")
  void foreignSessionWebhookRefusedAtPush(VertxTestContext ctx) {
    JsonObject address = new JsonObject().put("session_webhook", internal.url("/robot/sendBySession?session=x"))
        .put("expires_at", System.currentTimeMillis() + 3_600_000).put("conversation_id", "cid-9").put("conversation_type", "1");
    var bus = gateway.vertx().eventBus();
    bus.<JsonObject>request(dev.switchboard.bus.Addresses.CHANNEL_PUSH,
            new dev.switchboard.bus.PushRequest("dingtalk", "assistant", "hello", null, address))
        .compose(m -> {
          String id = m.body().getString("id");
          Promise<JsonObject> ended = Promise.promise();
          long deadline = System.currentTimeMillis() + 15_000;
          vertx.setPeriodic(25, timer -> bus.<JsonObject>request(dev.switchboard.bus.Addresses.CHANNEL_DELIVERIES,
                  new JsonObject().put("channel", "dingtalk").put("bot", "assistant"))
              .onSuccess(page -> page.body().getJsonArray("data").stream().map(JsonObject.class::cast)
                  .filter(d -> id.equals(d.getString("id")))
                  .filter(d -> !"pending".equals(d.getString("status")) || System.currentTimeMillis() > deadline)
                  .findFirst().ifPresent(d -> {
                    vertx.cancelTimer(timer);
                    ended.tryComplete(d);
                  })));
          return ended.future();
        })
        .onComplete(ctx.succeeding(d -> ctx.verify(() -> {
          assertEquals("failed", d.getString("status"), d.encode());
          assertTrue(d.getJsonObject("response").getString("error").contains("session_webhook_hosts"), d.encode());
          assertTrue(internal.received().isEmpty());
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("a timestamp and sign pair is used once: the same pair with another body is refused with 401")
  void signReplayRefused(VertxTestContext ctx) throws Exception {
    long ts = System.currentTimeMillis();
    post("assistant", message("msg-r1", "第一条"), ts, APP_SECRET)
        .compose(r -> {
          ctx.verify(() -> assertEquals(200, r.statusCode(), r.bodyAsString()));
          try {
            return post("assistant", message("msg-r2", "伪造的第二条"), ts, APP_SECRET);
          } catch (Exception e) {
            return Future.failedFuture(e);
          }
        })
        .compose(r -> replies(1).compose(v -> settle(400)).map(r))
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertEquals(401, r.statusCode(), r.bodyAsString());
          assertTrue(r.bodyAsString().contains("came with another body"), r.bodyAsString());
          assertEquals(1, upstream.chatRequestCount());
          assertEquals(1, session.received().size());
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("the same timestamp and sign with the same body (DingTalk's retry) is accepted, and the message answered once")
  void sameBodyRetryAccepted(VertxTestContext ctx) throws Exception {
    long ts = System.currentTimeMillis();
    JsonObject body = message("msg-retry", "再问一次");
    post("assistant", body, ts, APP_SECRET)
        .compose(r -> {
          ctx.verify(() -> assertEquals(200, r.statusCode(), r.bodyAsString()));
          try {
            return post("assistant", body, ts, APP_SECRET);
          } catch (Exception e) {
            return Future.failedFuture(e);
          }
        })
        .compose(r -> replies(1).compose(v -> settle(400)).map(r))
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertEquals(200, r.statusCode(), r.bodyAsString());
          assertEquals(1, upstream.chatRequestCount(), "one answer for the message");
          assertEquals(1, session.received().size());
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("the body's claims are input, not truth: an id holding control characters is refused, control characters leave the text, and long text is capped")
  void claimsChecked(VertxTestContext ctx) throws Exception {
    post("assistant", message("msg-c1", "hi").put("senderStaffId", "boss\u0000"), System.currentTimeMillis(), APP_SECRET)
        .compose(r -> {
          ctx.verify(() -> {
            assertEquals(400, r.statusCode(), r.bodyAsString());
            assertTrue(r.bodyAsString().contains("senderStaffId"), r.bodyAsString());
          });
          try {
            return post("assistant", message("msg-c2", "你\u0000好\u0007\u001b[2J"), System.currentTimeMillis() + 1, APP_SECRET);
          } catch (Exception e) {
            return Future.failedFuture(e);
          }
        })
        .compose(r -> replies(1))
        .compose(v -> {
          try {
            return post("assistant", message("msg-c3", "长".repeat(9_000)), System.currentTimeMillis() + 2, APP_SECRET);
          } catch (Exception e) {
            return Future.failedFuture(e);
          }
        })
        .compose(r -> replies(2))
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          // what each task asked the model, by its last message (a conversation summary may also call it)
          List<String> asked = upstream.chatRequests().stream().map(c -> c.getJsonArray("messages"))
              .map(m -> m.getJsonObject(m.size() - 1).getString("content")).toList();
          assertTrue(asked.contains("你好[2J"), "control characters left the text: " + asked);
          assertTrue(asked.contains("长".repeat(8_000)), "capped at 8,000 characters");
          assertTrue(asked.stream().noneMatch(a -> a.equals("hi")), "the refused message was not asked");
          ctx.completeNow();
        })));
  }
}
