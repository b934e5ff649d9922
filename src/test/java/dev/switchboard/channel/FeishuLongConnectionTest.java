package dev.switchboard.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Long-connection mode against a fake Feishu on loopback speaking protocols §5.8: the endpoint
 * API, binary protobuf frames on a WebSocket, pings, pongs with a configuration, acks; and the
 * OpenAPI the answer goes back through.
 */
@ExtendWith(VertxExtension.class)
@DisplayName("Feishu long connection")
class FeishuLongConnectionTest {

  record Seen(String path, MultiMap headers, String body) {
  }

  Vertx vertx;
  FakeUpstream upstream;
  HttpServer feishu;
  final List<Seen> seen = new CopyOnWriteArrayList<>();
  final List<ServerWebSocket> sockets = new CopyOnWriteArrayList<>();
  /** Frames the gateway sent, by connection (index in {@link #sockets}), raw bytes kept. */
  final List<List<byte[]>> frames = new CopyOnWriteArrayList<>();
  TestGateway gateway;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    this.vertx = vertx;
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    feishu = vertx.createHttpServer()
        .webSocketHandler(ws -> {
          List<byte[]> mine = new CopyOnWriteArrayList<>();
          frames.add(mine);
          sockets.add(ws);
          ws.binaryMessageHandler(b -> mine.add(b.getBytes()));
        })
        .requestHandler(req -> req.body().onSuccess(b -> {
          seen.add(new Seen(req.path(), MultiMap.caseInsensitiveMultiMap().addAll(req.headers()), b.toString()));
          JsonObject answer;
          if (req.path().equals("/callback/ws/endpoint")) {
            answer = new JsonObject().put("code", 0).put("msg", "ok").put("data", new JsonObject()
                .put("URL", "ws://127.0.0.1:" + req.localAddress().port() + "/ws/v2?device_id=d1&service_id=1234")
                .put("ClientConfig", new JsonObject().put("ReconnectCount", -1).put("ReconnectInterval", 1)
                    .put("ReconnectNonce", 0).put("PingInterval", 120)));
          } else if (req.path().endsWith("/tenant_access_token/internal")) {
            answer = new JsonObject().put("code", 0).put("msg", "ok").put("tenant_access_token", "t-fake").put("expire", 7200);
          } else {
            answer = new JsonObject().put("code", 0).put("msg", "success").put("data", new JsonObject());
          }
          req.response().putHeader("content-type", "application/json").end(answer.encode());
        }))
        .listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "fake-model")
        .file("channels.yaml", """
            feishu:
              - name: "lc"
                app_id: "cli_lc"
                app_secret: "lc-secret"
                mode: "long_connection"
                domain: "http://127.0.0.1:%d"
            """.formatted(feishu.actualPort()))
        .start();
  }

  @AfterEach
  void stop() {
    gateway.close();
  }

  private Future<Void> until(BooleanSupplier condition) {
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

  private static String event(String eventId, String messageId, String text) {
    return new JsonObject().put("schema", "2.0")
        .put("header", new JsonObject().put("event_id", eventId).put("event_type", "im.message.receive_v1")
            .put("create_time", "1608725989000").put("app_id", "cli_lc").put("tenant_key", "t"))
        .put("event", new JsonObject()
            .put("sender", new JsonObject().put("sender_id", new JsonObject().put("open_id", "ou_1")).put("sender_type", "user"))
            .put("message", new JsonObject().put("message_id", messageId).put("chat_id", "oc_1").put("chat_type", "p2p")
                .put("message_type", "text").put("content", new JsonObject().put("text", text).encode())))
        .encode();
  }

  private Future<Void> later(long ms) {
    Promise<Void> p = Promise.promise();
    vertx.setTimer(ms, id -> p.complete());
    return p.future();
  }

  private static FeishuFrame data(long seq, String messageId, int sum, int part, byte[] payload) {
    return new FeishuFrame(seq, 99, 1234, FeishuFrame.DATA, List.of(
        new FeishuFrame.Header("type", "event"), new FeishuFrame.Header("message_id", messageId),
        new FeishuFrame.Header("sum", String.valueOf(sum)), new FeishuFrame.Header("seq", String.valueOf(part)),
        new FeishuFrame.Header("trace_id", "tr-1")), null, null, payload, null);
  }

  private static void send(ServerWebSocket ws, FeishuFrame frame) {
    ws.writeBinaryMessage(Buffer.buffer(frame.encode()));
  }

  private List<FeishuFrame> decoded(int connection) {
    return frames.get(connection).stream().map(FeishuFrame::decode).toList();
  }

  private List<FeishuFrame> acks(int connection) {
    return decoded(connection).stream().filter(f -> f.method() == FeishuFrame.DATA).toList();
  }

  private List<Seen> replies() {
    return seen.stream().filter(s -> s.path().endsWith("/reply")).toList();
  }

  @Test
  @DisplayName("registers at the endpoint API with the app's credentials, then pings with the service id of the URL (vector 1.5)")
  void registersAndPings(VertxTestContext ctx) {
    until(() -> !frames.isEmpty() && !frames.get(0).isEmpty()).onComplete(ctx.succeeding(v -> ctx.verify(() -> {
      Seen reg = seen.get(0);
      assertEquals("/callback/ws/endpoint", reg.path());
      assertEquals("zh", reg.headers().get("locale"));
      assertEquals(new JsonObject().put("AppID", "cli_lc").put("AppSecret", "lc-secret"), new JsonObject(reg.body()));
      assertEquals(FeishuFrameTest.PING_1234, HexFormat.of().formatHex(frames.get(0).get(0)));
      ctx.completeNow();
    })));
  }

  @Test
  @DisplayName("an event frame is acknowledged with the same frame, code 200 and biz_rt, and the message is answered as a reply")
  void eventAckedAndAnswered(VertxTestContext ctx) {
    until(() -> !sockets.isEmpty())
        .compose(v -> {
          send(sockets.get(0), data(41, "fm-1", 1, 0, event("ev-1", "om_1", "@_user_1 hello").getBytes(StandardCharsets.UTF_8)));
          return until(() -> !acks(0).isEmpty() && !replies().isEmpty());
        })
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          FeishuFrame ack = acks(0).get(0);
          assertEquals(41, ack.seqId());
          assertEquals(99, ack.logId());
          assertEquals(1234, ack.service());
          assertEquals("fm-1", ack.header("message_id"));
          assertEquals("tr-1", ack.header("trace_id"));
          assertTrue(Long.parseLong(ack.header("biz_rt")) >= 0);
          assertEquals("{\"code\":200}", new String(ack.payload(), StandardCharsets.UTF_8));
          Seen reply = replies().get(0);
          assertEquals("/open-apis/im/v1/messages/om_1/reply", reply.path());
          assertEquals("Bearer t-fake", reply.headers().get("Authorization"));
          assertEquals(new JsonObject().put("text", "echo: hello"),
              new JsonObject(new JsonObject(reply.body()).getString("content")));
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("an event in two parts, cut inside a UTF-8 character, is joined by seq and answered once; the last part is acknowledged")
  void partsJoined(VertxTestContext ctx) {
    byte[] whole = event("ev-2", "om_2", "你好世界").getBytes(StandardCharsets.UTF_8);
    int cut = indexOf(whole, "你".getBytes(StandardCharsets.UTF_8)) + 1;
    until(() -> !sockets.isEmpty())
        .compose(v -> {
          // the second part first: parts are put in place by seq, not by arrival
          send(sockets.get(0), data(7, "fm-2", 2, 1, Arrays.copyOfRange(whole, cut, whole.length)));
          send(sockets.get(0), data(8, "fm-2", 2, 0, Arrays.copyOfRange(whole, 0, cut)));
          return until(() -> !replies().isEmpty());
        })
        .compose(v -> later(1_000)) // a second answer or ack would have come by now
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          assertEquals(1, replies().size());
          assertEquals(new JsonObject().put("text", "echo: 你好世界"),
              new JsonObject(new JsonObject(replies().get(0).body()).getString("content")));
          assertEquals(1, acks(0).size());
          assertEquals(8, acks(0).get(0).seqId());
          ctx.completeNow();
        })));
  }

  private static int indexOf(byte[] data, byte[] part) {
    outer:
    for (int i = 0; i + part.length <= data.length; i++) {
      for (int j = 0; j < part.length; j++) {
        if (data[i + j] != part[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  @Test
  @DisplayName("a pong carrying a configuration sets the ping interval")
  void pongConfigApplied(VertxTestContext ctx) {
    until(() -> !frames.isEmpty() && !frames.get(0).isEmpty())
        .compose(v -> {
          send(sockets.get(0), new FeishuFrame(0, 0, 1234, FeishuFrame.CONTROL, List.of(new FeishuFrame.Header("type", "pong")),
              null, null, "{\"PingInterval\":1}".getBytes(StandardCharsets.UTF_8), null));
          return until(() -> frames.get(0).size() >= 3);
        })
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          assertTrue(frames.get(0).size() >= 3, "pings after the pong: " + frames.get(0).size());
          assertTrue(decoded(0).stream().allMatch(f -> "ping".equals(f.header("type")) && f.service() == 1234));
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("when the server closes the connection, the gateway asks for a fresh endpoint and connects again")
  void reconnectsAfterClose(VertxTestContext ctx) {
    until(() -> !sockets.isEmpty())
        .compose(v -> {
          sockets.get(0).close();
          return until(() -> sockets.size() >= 2 && frames.get(1).size() >= 1);
        })
        .compose(v -> {
          send(sockets.get(1), data(3, "fm-3", 1, 0, event("ev-3", "om_3", "again").getBytes(StandardCharsets.UTF_8)));
          return until(() -> !acks(1).isEmpty() && !replies().isEmpty());
        })
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          assertEquals(2, seen.stream().filter(s -> s.path().equals("/callback/ws/endpoint")).count());
          assertEquals("ping", decoded(1).get(0).header("type"));
          assertEquals("{\"code\":200}", new String(acks(1).get(0).payload(), StandardCharsets.UTF_8));
          assertEquals("/open-apis/im/v1/messages/om_3/reply", replies().get(0).path());
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("an app in long-connection mode takes no events at the webhook, which could not check them")
  void webhookRefused(VertxTestContext ctx) {
    WebClient.create(vertx).postAbs(gateway.url("/webhooks/feishu/lc")).putHeader("content-type", "application/json")
        .sendBuffer(Buffer.buffer(event("ev-4", "om_4", "sneaky")))
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertEquals(404, r.statusCode(), r.bodyAsString());
          assertEquals(0, upstream.chatRequestCount());
          ctx.completeNow();
        })));
  }
}
