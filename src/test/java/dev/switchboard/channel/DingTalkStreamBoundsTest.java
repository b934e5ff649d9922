package dev.switchboard.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
 * Stream mode reads bounded: a registration answer over 64 KB is not used (the gateway registers
 * again), a WebSocket message over 128 KB is dropped without being gathered.
 */
@ExtendWith(VertxExtension.class)
@DisplayName("DingTalk Stream mode, bounded")
class DingTalkStreamBoundsTest {

  Vertx vertx;
  FakeUpstream upstream;
  FakePlatform session;
  HttpServer dingtalk;
  final AtomicInteger registrations = new AtomicInteger();
  /** Tickets that opened a connection, in order. */
  final List<String> connections = new CopyOnWriteArrayList<>();
  volatile ServerWebSocket connected;
  TestGateway gateway;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    this.vertx = vertx;
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    session = FakePlatform.start(vertx, "{\"errcode\":0,\"errmsg\":\"ok\"}").await(10, TimeUnit.SECONDS);
    dingtalk = vertx.createHttpServer()
        .webSocketHandler(ws -> {
          connections.add(ws.query() == null ? "" : ws.query().replace("ticket=", ""));
          connected = ws;
        })
        .requestHandler(req -> req.body().onSuccess(b -> {
          int n = registrations.incrementAndGet();
          JsonObject answer = new JsonObject()
              .put("endpoint", "ws://127.0.0.1:" + req.localAddress().port() + "/connect")
              .put("ticket", "ticket-" + n);
          if (n == 1) {
            answer.put("pad", "x".repeat(100 * 1024)); // the first answer is far larger than a registration
          }
          req.response().putHeader("content-type", "application/json").end(answer.encode());
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

  @Test
  @DisplayName("a registration answer over 64 KB is not used: the gateway registers again and connects with the new ticket")
  void largeRegistrationAnswer(VertxTestContext ctx) {
    until(() -> !connections.isEmpty()).onComplete(ctx.succeeding(v -> ctx.verify(() -> {
      assertEquals(List.of("ticket-2"), connections);
      assertEquals(2, registrations.get());
      ctx.completeNow();
    })));
  }

  private JsonObject robotFrame(String msgId, String text) {
    JsonObject robot = new JsonObject().put("conversationId", "cid").put("msgId", msgId).put("senderStaffId", "u")
        .put("conversationType", "1").put("sessionWebhook", session.url("/robot/sendBySession?session=s1"))
        .put("sessionWebhookExpiredTime", System.currentTimeMillis() + 5_400_000)
        .put("text", new JsonObject().put("content", text)).put("msgtype", "text");
    return new JsonObject().put("specVersion", "1.0").put("type", "CALLBACK")
        .put("headers", new JsonObject().put("topic", "/v1.0/im/bot/messages/get").put("messageId", "m-" + msgId))
        .put("data", robot.encode());
  }

  @Test
  @DisplayName("a message over 128 KB is dropped as it arrives, not gathered; the connection goes on and answers the next one")
  void largeMessage(VertxTestContext ctx) {
    until(() -> connected != null)
        .compose(v -> {
          connected.writeTextMessage(robotFrame("big", "大".repeat(70 * 1024)).encode());
          connected.writeTextMessage(robotFrame("small", "你好").encode());
          return until(() -> !session.received().isEmpty());
        })
        .compose(v -> {
          Promise<Void> settle = Promise.promise();
          vertx.setTimer(500, id -> settle.complete());
          return settle.future();
        })
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          assertEquals(1, session.received().size());
          assertEquals("echo: 你好", session.received().get(0).json().getJsonObject("text").getString("content"));
          assertEquals(1, upstream.chatRequestCount());
          assertEquals(1, connections.size(), "the same connection");
          ctx.completeNow();
        })));
  }
}
