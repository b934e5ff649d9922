package dev.switchboard.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.bus.Addresses;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** WeCom app callbacks with the reference vectors W1–W3. */
@ExtendWith(VertxExtension.class)
@DisplayName("WeCom callbacks")
class WeComCallbackTest {

  static final String TOKEN = "QDG6eK";
  static final String AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
  static final String CORP = "wx5823bf96d3bd56c7";
  static final String W1_ECHO = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==";
  static final String W2_CIPHER = "sKqRbbiSUnDhFHOvPjtUMV+bt+WaVb1OGJSDwd+x0KOoRm9ekd8pZYDl7EXxMAAfJ5YCJ490AxI+dtSolT6sUn7yfYC9PMUXiNvBLUWJYYS5B8r5ZKcV6HcJNqPMceiL9yrb2NALTXpogkwhwGFwD/lpwvYxMyAB4TpZwLhpnt5ywuihnkhL6tSQMyxxixr3/7v3oBnJeHuPxeaGmBo/jA==";
  static final WeComApp APP = new WeComApp("assistant", CORP, TOKEN, AES_KEY, null);

  TestGateway gateway;
  WebClient web;
  final List<JsonObject> events = new CopyOnWriteArrayList<>();

  Vertx vertx;

  @BeforeEach
  void start(Vertx vertx) {
    this.vertx = vertx;
    gateway = TestGateway.builder().file("channels.yaml", """
        wecom:
          - name: "assistant"
            corp_id: "%s"
            token: "%s"
            encoding_aes_key: "%s"
          - name: "lenient"
            corp_id: "%s"
            token: "%s"
            encoding_aes_key: "%s"
            timestamp_window: 2h
        """.formatted(CORP, TOKEN, AES_KEY, CORP, TOKEN, AES_KEY)).start();
    // every event the events component hands to the rules (which run as shipped), as it is sent
    gateway.vertx().eventBus().addOutboundInterceptor(dc -> {
      if (Addresses.RULES_EVENT.equals(dc.message().address()) && dc.message().body() instanceof JsonObject e) {
        events.add(e);
      }
      dc.next();
    });
    web = WebClient.create(vertx);
  }

  @AfterEach
  void stop() {
    gateway.close();
  }

  @Test
  @DisplayName("W1 and W3: signature, key derivation and decryption of WeCom's own sample")
  void vectorW1() {
    assertEquals("8d69989bbaabe67328014c194631ad0719b3dca035b64023df292447aab60760", HexFormat.of().formatHex(APP.aesKey()));
    assertEquals("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", APP.signature("1409659589", "263014780", W1_ECHO));
    WeComApp.Opened opened = APP.decrypt(W1_ECHO);
    assertEquals("1616140317555161061", opened.message());
    assertEquals(CORP, opened.receiveId());
  }

  @Test
  @DisplayName("W2: a message padded by 20 bytes (over PKCS#5's 16) decrypts, and its signature matches")
  void vectorW2() {
    assertEquals("<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Content><![CDATA[hello]]></Content></xml>",
        APP.decrypt(W2_CIPHER).message());
    assertEquals("cb2837cab03d8693e5bbc9146e0fab092338512b", APP.signature("1700000000", "1372623149", W2_CIPHER));
  }

  @Test
  @DisplayName("URL verification answers the decrypted echo as plain text; a bad signature is 401")
  void urlVerification(VertxTestContext ctx) {
    // W1's echo, signed at the current time as WeCom would
    String ts = String.valueOf(System.currentTimeMillis() / 1000);
    String signature = APP.signature(ts, "263014780", W1_ECHO);
    String query = "?msg_signature=" + signature + "&timestamp=" + ts + "&nonce=263014780&echostr="
        + URLEncoder.encode(W1_ECHO, StandardCharsets.UTF_8);
    String forged = query.replace(signature, "0000" + signature.substring(4));
    web.getAbs(gateway.url("/webhooks/wecom/assistant" + query)).send()
        .compose(r -> {
          ctx.verify(() -> {
            assertEquals(200, r.statusCode(), r.bodyAsString());
            assertEquals("1616140317555161061", r.bodyAsString());
          });
          return web.getAbs(gateway.url("/webhooks/wecom/assistant" + forged)).send();
        })
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertEquals(401, r.statusCode());
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("a message callback is decrypted, answered 'success' and published as an event")
  void messagePublished(VertxTestContext ctx) {
    String xml = "<xml><ToUserName><![CDATA[" + CORP + "]]></ToUserName><AgentID><![CDATA[1000002]]></AgentID>"
        + "<Encrypt><![CDATA[" + W2_CIPHER + "]]></Encrypt></xml>";
    String ts = String.valueOf(System.currentTimeMillis() / 1000);
    String query = "?msg_signature=" + APP.signature(ts, "1372623149", W2_CIPHER) + "&timestamp=" + ts + "&nonce=1372623149";
    web.postAbs(gateway.url("/webhooks/wecom/assistant" + query)).sendBuffer(Buffer.buffer(xml))
        .compose(r -> {
          ctx.verify(() -> {
            assertEquals(200, r.statusCode(), r.bodyAsString());
            assertEquals("success", r.bodyAsString());
          });
          Promise<Void> seen = Promise.promise();
          long deadline = System.currentTimeMillis() + 5000;
          vertx.setPeriodic(10, id -> { // the test's own loop: a timer set from another thread can fire before it is armed
            if (!events.isEmpty() || System.currentTimeMillis() > deadline) {
              vertx.cancelTimer(id);
              seen.complete();
            }
          });
          return seen.future();
        })
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          assertEquals(1, events.size());
          assertEquals("hello", events.get(0).getString("text"));
          assertEquals("assistant", events.get(0).getString("bot"));
          assertTrue(events.get(0).containsKey("time"));
          ctx.completeNow();
        })));
  }

  /** Seals {@code xml} the way WeCom does (written here from the protocol, not with the gateway's code). */
  static String seal(String xml) throws Exception {
    byte[] key = java.util.Base64.getDecoder().decode(AES_KEY + "=");
    byte[] msg = xml.getBytes(StandardCharsets.UTF_8);
    byte[] id = CORP.getBytes(StandardCharsets.UTF_8);
    int length = 16 + 4 + msg.length + id.length;
    int pad = 32 - length % 32;
    java.nio.ByteBuffer plain = java.nio.ByteBuffer.allocate(length + pad);
    plain.put("0123456789abcdef".getBytes(StandardCharsets.US_ASCII)).putInt(msg.length).put(msg).put(id);
    while (plain.hasRemaining()) {
      plain.put((byte) pad);
    }
    javax.crypto.Cipher cipher = javax.crypto.Cipher.getInstance("AES/CBC/NoPadding");
    cipher.init(javax.crypto.Cipher.ENCRYPT_MODE, new javax.crypto.spec.SecretKeySpec(key, "AES"),
        new javax.crypto.spec.IvParameterSpec(key, 0, 16));
    return java.util.Base64.getEncoder().encodeToString(cipher.doFinal(plain.array()));
  }

  private static String envelope(String cipher) {
    return "<xml><ToUserName><![CDATA[" + CORP + "]]></ToUserName><AgentID><![CDATA[1000002]]></AgentID>"
        + "<Encrypt><![CDATA[" + cipher + "]]></Encrypt></xml>";
  }

  private Future<io.vertx.ext.web.client.HttpResponse<Buffer>> post(String bot, String cipher, String ts, String nonce) {
    String query = "?msg_signature=" + APP.signature(ts, nonce, cipher) + "&timestamp=" + ts + "&nonce=" + nonce;
    return web.postAbs(gateway.url("/webhooks/wecom/" + bot + query)).sendBuffer(Buffer.buffer(envelope(cipher)));
  }

  private static String now() {
    return String.valueOf(System.currentTimeMillis() / 1000);
  }

  /** Waits (bounded) until {@code n} events were published, or a little while when none should come. */
  private Future<Void> events(int n) {
    Promise<Void> seen = Promise.promise();
    long deadline = System.currentTimeMillis() + (n == 0 ? 500 : 5000);
    vertx.setPeriodic(10, id -> { // the test's own loop: a timer set from another thread can fire before it is armed
      if (n > 0 && events.size() >= n || System.currentTimeMillis() > deadline) {
        vertx.cancelTimer(id);
        seen.complete();
      }
    });
    return seen.future();
  }

  @Test
  @DisplayName("a callback validly signed a year ago (W2 at its own timestamp) is refused with 401 and publishes nothing")
  void staleTimestampRefused(VertxTestContext ctx) {
    String query = "?msg_signature=cb2837cab03d8693e5bbc9146e0fab092338512b&timestamp=1700000000&nonce=1372623149";
    web.postAbs(gateway.url("/webhooks/wecom/assistant" + query)).sendBuffer(Buffer.buffer(envelope(W2_CIPHER)))
        .compose(r -> events(0).map(r))
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertEquals(401, r.statusCode(), r.bodyAsString());
          assertTrue(r.bodyAsString().contains("timestamp"), r.bodyAsString());
          assertEquals(0, events.size());
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("timestamp_window widens the window: a callback signed an hour ago is taken by an app with 2h")
  void windowConfigurable(VertxTestContext ctx) {
    String hourAgo = String.valueOf(System.currentTimeMillis() / 1000 - 3600);
    post("assistant", W2_CIPHER, hourAgo, "1")
        .compose(r -> {
          ctx.verify(() -> assertEquals(401, r.statusCode(), r.bodyAsString()));
          return post("lenient", W2_CIPHER, hourAgo, "1");
        })
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertEquals(200, r.statusCode(), r.bodyAsString());
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("the same signed callback sent again is answered but published once, also when it has no MsgId")
  void replayPublishedOnce(VertxTestContext ctx) throws Exception {
    String cipher = seal("<xml><ToUserName><![CDATA[" + CORP + "]]></ToUserName><FromUserName><![CDATA[zhangsan]]></FromUserName>"
        + "<CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[enter_agent]]></Event>"
        + "<AgentID>1000002</AgentID></xml>");
    String ts = now();
    post("assistant", cipher, ts, "42")
        .compose(r -> post("assistant", cipher, ts, "42"))
        .compose(r -> {
          ctx.verify(() -> {
            assertEquals(200, r.statusCode(), r.bodyAsString());
            assertEquals("success", r.bodyAsString());
          });
          return events(1).compose(v -> events(0));
        })
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          assertEquals(1, events.size());
          assertEquals("event", events.get(0).getJsonObject("raw").getString("MsgType"));
          assertEquals("zhangsan", events.get(0).getJsonObject("sender").getString("id"));
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("a message's MsgId is its own, not one its sender wrote into the text")
  void msgIdNotFromText(VertxTestContext ctx) throws Exception {
    String cipher = seal("<xml><ToUserName><![CDATA[" + CORP + "]]></ToUserName><FromUserName><![CDATA[lisi]]></FromUserName>"
        + "<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        + "<Content><![CDATA[see <MsgId>111</MsgId> & <b>]]></Content><MsgId>222</MsgId><AgentID>1000002</AgentID></xml>");
    post("assistant", cipher, now(), "7")
        .compose(r -> events(1))
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          assertEquals(1, events.size());
          assertEquals("wecom:assistant:222", events.get(0).getString("id"));
          assertEquals("see <MsgId>111</MsgId> & <b>", events.get(0).getString("text"));
          // answered in place by WeComReplyBot: message/send to the member who wrote
          JsonObject target = events.get(0).getJsonObject("reply").getJsonObject("target");
          assertEquals("wecom", target.getString("type"));
          assertEquals("assistant", target.getString("bot"));
          assertEquals(events.get(0).getJsonObject("sender").getString("id"), target.getJsonObject("address").getString("touser"));
          assertEquals("1000002", events.get(0).getJsonObject("raw").getString("AgentID"));
          ctx.completeNow();
        })));
  }
}
