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

  @BeforeEach
  void start(Vertx vertx) {
    gateway = TestGateway.builder().file("channels.yaml", """
        wecom:
          - name: "assistant"
            corp_id: "%s"
            token: "%s"
            encoding_aes_key: "%s"
        """.formatted(CORP, TOKEN, AES_KEY)).start();
    gateway.vertx().eventBus().<JsonObject>consumer(Addresses.EVENTS_WECOM, m -> events.add(m.body()));
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
    String query = "?msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3&timestamp=1409659589&nonce=263014780&echostr="
        + URLEncoder.encode(W1_ECHO, StandardCharsets.UTF_8);
    web.getAbs(gateway.url("/webhooks/wecom/assistant" + query)).send()
        .compose(r -> {
          ctx.verify(() -> {
            assertEquals(200, r.statusCode(), r.bodyAsString());
            assertEquals("1616140317555161061", r.bodyAsString());
          });
          return web.getAbs(gateway.url("/webhooks/wecom/assistant" + query.replace("5c45", "0000"))).send();
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
    String query = "?msg_signature=cb2837cab03d8693e5bbc9146e0fab092338512b&timestamp=1700000000&nonce=1372623149";
    web.postAbs(gateway.url("/webhooks/wecom/assistant" + query)).sendBuffer(Buffer.buffer(xml))
        .compose(r -> {
          ctx.verify(() -> {
            assertEquals(200, r.statusCode(), r.bodyAsString());
            assertEquals("success", r.bodyAsString());
          });
          Promise<Void> seen = Promise.promise();
          long deadline = System.currentTimeMillis() + 5000;
          gateway.vertx().setPeriodic(10, id -> {
            if (!events.isEmpty() || System.currentTimeMillis() > deadline) {
              gateway.vertx().cancelTimer(id);
              seen.complete();
            }
          });
          return seen.future();
        })
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          assertEquals(1, events.size());
          assertEquals("hello", events.get(0).getString("content"));
          assertEquals("assistant", events.get(0).getString("bot"));
          assertTrue(events.get(0).containsKey("received_at"));
          ctx.completeNow();
        })));
  }
}
