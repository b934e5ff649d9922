package dev.switchboard.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.bus.Addresses;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A WeCom app conversation end to end: an encrypted text callback, the stored event, the shipped
 * default rule {@code conversation}, the agent task, and its answer sent back through
 * {@code message/send} on a fake WeCom API.
 */
@ExtendWith(VertxExtension.class)
@DisplayName("A WeCom app conversation")
class WeComConversationTest {

  record Seen(String path, String query, String body, long atMillis) {
  }

  /** How long the fake model takes: the callback must be answered well before. */
  static final Duration MODEL_DELAY = Duration.ofMillis(1500);

  Vertx vertx;
  FakeUpstream upstream;
  HttpServer wecom;
  final List<Seen> seen = new CopyOnWriteArrayList<>();
  TestGateway gateway;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    this.vertx = vertx;
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    upstream.delay(MODEL_DELAY);
    wecom = vertx.createHttpServer().requestHandler(req -> req.body().onSuccess(b -> {
      seen.add(new Seen(req.path(), req.query(), b.toString(), System.currentTimeMillis()));
      String answer = req.path().equals("/cgi-bin/gettoken")
          ? new JsonObject().put("errcode", 0).put("errmsg", "ok").put("access_token", "tok-1").put("expires_in", 7200).encode()
          : "{\"errcode\":0,\"errmsg\":\"ok\",\"msgid\":\"sent-1\"}";
      req.response().putHeader("content-type", "application/json").end(answer);
    })).listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "fake-model")
        .file("channels.yaml", """
            wecom:
              - name: "assistant"
                corp_id: "%s"
                token: "%s"
                encoding_aes_key: "%s"
                secret: "corp-secret"
                agent_id: "1000002"
                api_base: "http://127.0.0.1:%d"
            """.formatted(WeComCallbackTest.CORP, WeComCallbackTest.TOKEN, WeComCallbackTest.AES_KEY, wecom.actualPort()))
        .start();
  }

  @AfterEach
  void stop() {
    gateway.close();
  }

  @Test
  @DisplayName("an encrypted text is answered 'success' at once, and the model's answer is sent to its writer through message/send")
  void textAnsweredThroughMessageSend(VertxTestContext ctx) throws Exception {
    String cipher = WeComCallbackTest.seal("<xml><ToUserName><![CDATA[" + WeComCallbackTest.CORP + "]]></ToUserName>"
        + "<FromUserName><![CDATA[zhangsan]]></FromUserName><CreateTime>1700000000</CreateTime>"
        + "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好]]></Content><MsgId>7001</MsgId>"
        + "<AgentID>1000002</AgentID></xml>");
    String ts = String.valueOf(System.currentTimeMillis() / 1000);
    String query = "?msg_signature=" + WeComCallbackTest.APP.signature(ts, "5150", cipher) + "&timestamp=" + ts + "&nonce=5150";
    String envelope = "<xml><ToUserName><![CDATA[" + WeComCallbackTest.CORP + "]]></ToUserName><AgentID><![CDATA[1000002]]></AgentID>"
        + "<Encrypt><![CDATA[" + cipher + "]]></Encrypt></xml>";
    long[] answeredAt = new long[1];
    long sentAt = System.currentTimeMillis();
    WebClient.create(vertx).postAbs(gateway.url("/webhooks/wecom/assistant" + query)).sendBuffer(Buffer.buffer(envelope))
        .compose(r -> {
          answeredAt[0] = System.currentTimeMillis();
          ctx.verify(() -> {
            assertEquals(200, r.statusCode(), r.bodyAsString());
            assertEquals("success", r.bodyAsString());
          });
          Promise<Void> replied = Promise.promise();
          long deadline = System.currentTimeMillis() + 15_000;
          vertx.setPeriodic(25, id -> {
            if (seen.stream().anyMatch(s -> s.path().equals("/cgi-bin/message/send")) || System.currentTimeMillis() > deadline) {
              vertx.cancelTimer(id);
              replied.complete();
            }
          });
          return replied.future();
        })
        .compose(v -> gateway.vertx().eventBus().<JsonObject>request(Addresses.TASK_LIST, new JsonObject()))
        .onComplete(ctx.succeeding(tasks -> ctx.verify(() -> {
          // the callback did not wait for the model
          assertTrue(answeredAt[0] - sentAt < MODEL_DELAY.toMillis(), "answered after " + (answeredAt[0] - sentAt) + " ms");
          List<Seen> sends = seen.stream().filter(s -> s.path().equals("/cgi-bin/message/send")).toList();
          assertEquals(1, sends.size(), seen.toString());
          assertTrue(sends.get(0).atMillis() >= answeredAt[0]);
          assertEquals("access_token=tok-1", sends.get(0).query());
          JsonObject body = new JsonObject(sends.get(0).body());
          assertEquals("zhangsan", body.getString("touser"));
          assertEquals(1000002L, body.getLong("agentid"));
          assertEquals("echo: 你好", body.getJsonObject("text").getString("content"));
          assertEquals("你好", upstream.chatRequests().get(0).getJsonArray("messages").getJsonObject(0).getString("content"));
          JsonArray data = tasks.body().getJsonArray("data");
          assertEquals(1, data.size(), data.encode());
          assertEquals("conversation", data.getJsonObject(0).getString("rule"));
          assertEquals("wecom:assistant:7001", data.getJsonObject(0).getString("event"));
          ctx.completeNow();
        })));
  }
}
