package dev.switchboard.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakePlatform;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Stream mode against a fake DingTalk gateway on loopback that speaks the documented protocol:
 * registration for a single-use ticket, JSON text frames, acks by message id.
 */
@ExtendWith(VertxExtension.class)
@DisplayName("DingTalk Stream mode")
class DingTalkStreamTest {

  Vertx vertx;
  FakeUpstream upstream;
  FakePlatform session;
  HttpServer dingtalk;
  final List<JsonObject> registrations = new CopyOnWriteArrayList<>();
  final List<JsonObject> acks = new CopyOnWriteArrayList<>();
  final AtomicInteger tickets = new AtomicInteger();
  volatile ServerWebSocket connected;
  volatile String acceptedTicket;
  TestGateway gateway;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    this.vertx = vertx;
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    session = FakePlatform.start(vertx, "{\"errcode\":0,\"errmsg\":\"ok\"}").await(10, TimeUnit.SECONDS);
    dingtalk = vertx.createHttpServer()
        .webSocketHandler(ws -> {
          String ticket = ws.query() == null ? "" : ws.query().replace("ticket=", "");
          if (!ticket.equals(acceptedTicket)) {
            ws.close((short) 1008, "bad ticket");
            return;
          }
          acceptedTicket = null; // single use
          ws.textMessageHandler(text -> acks.add(new JsonObject(text)));
          connected = ws;
        })
        .requestHandler(req -> req.body().onSuccess(b -> {
          registrations.add(b.toJsonObject());
          acceptedTicket = "ticket-" + tickets.incrementAndGet();
          req.response().putHeader("content-type", "application/json").end(new JsonObject()
              .put("endpoint", "ws://127.0.0.1:" + req.localAddress().port() + "/connect")
              .put("ticket", acceptedTicket).encode());
        }))
        .listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "fake-model")
        .file("channels.yaml", """
            dingtalk:
              - name: "assistant"
                app_key: "ding-key"
                app_secret: "ding-secret"
                mode: "stream"
                api_base: "http://127.0.0.1:%d"
                session_webhook_hosts: ["%s"]
            """.formatted(dingtalk.actualPort(), session.url("")))
        .start();
  }

  @AfterEach
  void stop() {
    gateway.close();
  }

  private io.vertx.core.Future<Void> until(java.util.function.BooleanSupplier condition) {
    Promise<Void> p = Promise.promise();
    long deadline = System.currentTimeMillis() + 15_000;
    vertx.setPeriodic(20, id -> {
      if (condition.getAsBoolean() || System.currentTimeMillis() > deadline) {
        vertx.cancelTimer(id);
        p.complete();
      }
    });
    return p.future();
  }

  private static JsonObject frame(String type, String topic, String messageId, String data) {
    return new JsonObject().put("specVersion", "1.0").put("type", type)
        .put("headers", new JsonObject().put("topic", topic).put("messageId", messageId)
            .put("contentType", "application/json").put("time", String.valueOf(System.currentTimeMillis())))
        .put("data", data);
  }

  private JsonObject robotMessage(String msgId, String text) {
    return new JsonObject().put("conversationId", "cid").put("msgId", msgId).put("senderStaffId", "user123")
        .put("conversationType", "1").put("sessionWebhook", session.url("/robot/sendBySession?session=s1"))
        .put("sessionWebhookExpiredTime", System.currentTimeMillis() + 5_400_000)
        .put("text", new JsonObject().put("content", text)).put("msgtype", "text").put("robotCode", "ding-key");
  }

  @Test
  @DisplayName("registers with the app's credentials, answers pings, and answers a robot message through its sessionWebhook")
  void messageAnswered(VertxTestContext ctx) {
    until(() -> connected != null)
        .compose(v -> {
          ctx.verify(() -> {
            JsonObject reg = registrations.get(0);
            assertEquals("ding-key", reg.getString("clientId"));
            assertEquals("ding-secret", reg.getString("clientSecret"));
            assertTrue(reg.getJsonArray("subscriptions").encode().contains("/v1.0/im/bot/messages/get"));
          });
          connected.writeTextMessage(frame("SYSTEM", "ping", "p-1", "{\"opaque\":\"o-1\"}").encode());
          connected.writeTextMessage(frame("CALLBACK", "/v1.0/im/bot/messages/get", "m-1",
              robotMessage("msg-s1", "流模式你好").encode()).encode());
          return until(() -> acks.size() >= 2 && !session.received().isEmpty());
        })
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          JsonObject pong = acks.stream().filter(a -> "p-1".equals(a.getJsonObject("headers").getString("messageId"))).findFirst().orElseThrow();
          assertEquals(200, pong.getInteger("code"));
          assertEquals("{\"opaque\":\"o-1\"}", pong.getString("data"));
          JsonObject ack = acks.stream().filter(a -> "m-1".equals(a.getJsonObject("headers").getString("messageId"))).findFirst().orElseThrow();
          assertEquals(200, ack.getInteger("code"));
          assertEquals("{\"response\":null}", ack.getString("data"));
          assertEquals("echo: 流模式你好", session.received().get(0).json().getJsonObject("text").getString("content"));
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("after the server disconnects, it registers again for a fresh ticket and reconnects")
  void reconnects(VertxTestContext ctx) {
    until(() -> connected != null)
        .compose(v -> {
          ServerWebSocket first = connected;
          connected = null;
          first.writeTextMessage(frame("SYSTEM", "disconnect", "d-1", "{\"reason\":\"restart\"}").encode());
          first.close();
          return until(() -> connected != null);
        })
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          assertTrue(connected != null, "reconnected");
          assertEquals(2, registrations.size(), "a fresh ticket for the new connection");
          ctx.completeNow();
        })));
  }
}
