package dev.switchboard.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.PushRequest;
import dev.switchboard.bus.TaskSubmission;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Replies from a WeCom app against a fake WeCom API on loopback: gettoken, message/send, appchat/send. */
@ExtendWith(VertxExtension.class)
@DisplayName("WeCom app replies")
class WeComReplyTest {

  record Seen(String path, String query, String body) {
  }

  static final String AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";

  Vertx vertx;
  FakeUpstream upstream;
  HttpServer wecom;
  final List<Seen> seen = new CopyOnWriteArrayList<>();
  final AtomicInteger tokens = new AtomicInteger();
  /** Answers to send requests, in order; then errcode 0. */
  final Deque<String> answers = new ConcurrentLinkedDeque<>();
  TestGateway gateway;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    this.vertx = vertx;
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    wecom = vertx.createHttpServer().requestHandler(req -> req.body().onSuccess(b -> {
      seen.add(new Seen(req.path(), req.query(), b.toString()));
      String answer;
      if (req.path().equals("/cgi-bin/gettoken")) {
        answer = new JsonObject().put("errcode", 0).put("errmsg", "ok").put("access_token", "tok-" + tokens.incrementAndGet())
            .put("expires_in", 7200).encode();
      } else {
        String queued = answers.poll();
        answer = queued != null ? queued : "{\"errcode\":0,\"errmsg\":\"ok\",\"msgid\":\"m1\"}";
      }
      req.response().putHeader("content-type", "application/json").end(answer);
    })).listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "fake-model")
        .file("channels.yaml", """
            wecom:
              - name: "app"
                corp_id: "ww-corp"
                token: "tk"
                encoding_aes_key: "%s"
                secret: "corp-secret"
                agent_id: "1000002"
                api_base: "http://127.0.0.1:%d"
                retry: { max_attempts: 3, backoff: 50ms }
              - name: "mute"
                corp_id: "ww-corp"
                token: "tk"
                encoding_aes_key: "%s"
            """.formatted(AES_KEY, wecom.actualPort(), AES_KEY))
        .start();
  }

  @AfterEach
  void stop() {
    gateway.close();
  }

  private Future<JsonObject> push(String text, JsonObject address) {
    return gateway.vertx().eventBus().<JsonObject>request(Addresses.CHANNEL_PUSH, new PushRequest("wecom", "app", text, null, address))
        .map(m -> m.body());
  }

  /** The delivery once it has ended (delivered, failed or dead). */
  private Future<JsonObject> ended(String id) {
    Promise<JsonObject> p = Promise.promise();
    long deadline = System.currentTimeMillis() + 15_000;
    vertx.setPeriodic(30, timer -> gateway.vertx().eventBus().<JsonObject>request(Addresses.CHANNEL_DELIVERIES, new JsonObject())
        .onSuccess(m -> {
          for (Object o : m.body().getJsonArray("data", new JsonArray())) {
            JsonObject d = (JsonObject) o;
            if (d.getString("id").equals(id) && !"pending".equals(d.getString("status"))) {
              vertx.cancelTimer(timer);
              p.tryComplete(d);
              return;
            }
          }
          if (System.currentTimeMillis() > deadline) {
            vertx.cancelTimer(timer);
            p.tryFail("delivery " + id + " still pending");
          }
        }));
    return p.future();
  }

  private List<Seen> sends() {
    return seen.stream().filter(s -> !s.path().equals("/cgi-bin/gettoken")).toList();
  }

  @Test
  @DisplayName("a reply to a member: the corp secret buys a token, message/send carries it, the agent id and the text")
  void replyToMember(VertxTestContext ctx) {
    push("你好", new JsonObject().put("touser", "zhangsan"))
        .compose(d -> ended(d.getString("id")))
        .onComplete(ctx.succeeding(d -> ctx.verify(() -> {
          assertEquals("delivered", d.getString("status"), d.encode());
          Seen token = seen.get(0);
          assertEquals("/cgi-bin/gettoken", token.path());
          assertEquals("corpid=ww-corp&corpsecret=corp-secret", token.query());
          Seen send = sends().get(0);
          assertEquals("/cgi-bin/message/send", send.path());
          assertEquals("access_token=tok-1", send.query());
          JsonObject body = new JsonObject(send.body());
          assertEquals("zhangsan", body.getString("touser"));
          assertEquals(1000002L, body.getLong("agentid"));
          assertEquals("text", body.getString("msgtype"));
          assertEquals("你好", body.getJsonObject("text").getString("content"));
          // WeCom's duplicate check matches by content and would drop a second identical answer
          assertEquals(null, body.getValue("enable_duplicate_check"));
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("the token is fetched once for several replies")
  void tokenCached(VertxTestContext ctx) {
    push("one", new JsonObject().put("touser", "a"))
        .compose(d -> ended(d.getString("id")))
        .compose(d -> push("two", new JsonObject().put("touser", "b")))
        .compose(d -> ended(d.getString("id")))
        .onComplete(ctx.succeeding(d -> ctx.verify(() -> {
          assertEquals("delivered", d.getString("status"));
          assertEquals(1, tokens.get());
          assertEquals(List.of("access_token=tok-1", "access_token=tok-1"), sends().stream().map(Seen::query).toList());
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("an expired token (42001) is fetched again and the reply sent with the new one")
  void expiredTokenRefreshed(VertxTestContext ctx) {
    answers.add("{\"errcode\":42001,\"errmsg\":\"access_token expired\"}");
    push("again", new JsonObject().put("touser", "a"))
        .compose(d -> ended(d.getString("id")))
        .onComplete(ctx.succeeding(d -> ctx.verify(() -> {
          assertEquals("delivered", d.getString("status"), d.encode());
          assertEquals(2, tokens.get());
          assertEquals(List.of("access_token=tok-1", "access_token=tok-2"), sends().stream().map(Seen::query).toList());
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("a reply to a group chat of the app goes to appchat/send with the chat id")
  void replyToChat(VertxTestContext ctx) {
    push("群里好", new JsonObject().put("chatid", "chat-1"))
        .compose(d -> ended(d.getString("id")))
        .onComplete(ctx.succeeding(d -> ctx.verify(() -> {
          assertEquals("delivered", d.getString("status"));
          Seen send = sends().get(0);
          assertEquals("/cgi-bin/appchat/send", send.path());
          JsonObject body = new JsonObject(send.body());
          assertEquals("chat-1", body.getString("chatid"));
          assertEquals("群里好", body.getJsonObject("text").getString("content"));
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("a member WeCom lists as invalid fails the delivery although errcode is 0")
  void invalidUserFails(VertxTestContext ctx) {
    answers.add("{\"errcode\":0,\"errmsg\":\"ok\",\"invaliduser\":\"ghost\"}");
    push("hello", new JsonObject().put("touser", "ghost"))
        .compose(d -> ended(d.getString("id")))
        .onComplete(ctx.succeeding(d -> ctx.verify(() -> {
          assertEquals("failed", d.getString("status"));
          assertEquals(1, sends().size());
          ctx.completeNow();
        })));
  }

  private Future<Void> check(String bot, JsonObject address) {
    return gateway.vertx().eventBus().request(Addresses.CHANNEL_CHECK, new TaskSubmission.Target("wecom", bot, address, null)).mapEmpty();
  }

  @Test
  @DisplayName("a target check refuses an app without an address, and an app without a secret, saying why")
  void checkSaysWhy(VertxTestContext ctx) {
    check("app", null).transform(ar -> {
          ctx.verify(() -> assertTrue(ar.failed() && ar.cause().getMessage().contains("replies in conversations only"),
              String.valueOf(ar.cause())));
          return check("mute", new JsonObject().put("touser", "a"));
        })
        .transform(ar -> {
          ctx.verify(() -> assertTrue(ar.failed() && ar.cause().getMessage().contains("secret unset"), String.valueOf(ar.cause())));
          return check("app", new JsonObject().put("touser", "a"));
        })
        .onComplete(ctx.succeeding(v -> ctx.completeNow()));
  }

  private List<String> sentTexts() {
    return sends().stream().map(x -> new JsonObject(x.body()).getJsonObject("text").getString("content")).toList();
  }

  @Test
  @DisplayName("a text over 2048 bytes goes out in parts, in order, each within the limit, one delivery")
  void longTextInParts(VertxTestContext ctx) {
    String first = "汉".repeat(500);
    String second = "字".repeat(500);
    push(first + "\n\n" + second, new JsonObject().put("touser", "a"))
        .compose(d -> ended(d.getString("id")))
        .onComplete(ctx.succeeding(d -> ctx.verify(() -> {
          assertEquals("delivered", d.getString("status"), d.encode());
          assertEquals(List.of(first, second), sentTexts());
          assertEquals(2, d.getJsonObject("response").getInteger("parts"));
          assertEquals(2, d.getJsonObject("response").getInteger("parts_delivered"));
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("a push in parts that failed at its second part is retried from that part: the first is not sent again")
  void retryResumesAfterDeliveredParts(VertxTestContext ctx) {
    String first = "汉".repeat(500);
    String second = "字".repeat(500);
    answers.add("{\"errcode\":0,\"errmsg\":\"ok\"}");
    answers.add("{\"errcode\":60111,\"errmsg\":\"invalid userid\"}");
    String[] id = new String[1];
    push(first + "\n\n" + second, new JsonObject().put("touser", "a"))
        .compose(d -> {
          id[0] = d.getString("id");
          return ended(id[0]);
        })
        .compose(d -> {
          ctx.verify(() -> {
            assertEquals("failed", d.getString("status"), d.encode());
            assertEquals(1, d.getJsonObject("response").getInteger("parts_delivered"));
          });
          return gateway.vertx().eventBus().request(Addresses.CHANNEL_RETRY, id[0]);
        })
        .compose(m -> ended(id[0]))
        .onComplete(ctx.succeeding(d -> ctx.verify(() -> {
          assertEquals("delivered", d.getString("status"), d.encode());
          assertEquals(List.of(first, second, second), sentTexts());
          ctx.completeNow();
        })));
  }
}
