package dev.switchboard.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.InboundWeCom;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Bodies built to make a parser work hard (the 576 KB WeCom body kept a thread busy for
 * 30 s) are refused at once, and while they are, other callbacks are answered. The assertions are
 * about answers, not time: a generous timeout only turns a hang into a failure.
 */
@ExtendWith(VertxExtension.class)
@DisplayName("Inbound bodies crafted to be expensive")
class CraftedBodiesTest {

  /** Long enough to be a hang, far longer than any answer should take. */
  static final long PATIENCE_MS = 15_000;
  /** An Encrypt element that never ends, over and over: every copy made the old pattern scan to the end. */
  static final String OPEN_ENCRYPT = "<Encrypt><![CDATA[";

  TestGateway gateway;
  WebClient web;

  @BeforeEach
  void start(Vertx vertx) {
    gateway = TestGateway.builder().file("channels.yaml", """
        wecom:
          - name: "assistant"
            corp_id: "%s"
            token: "%s"
            encoding_aes_key: "%s"
        """.formatted(WeComCallbackTest.CORP, WeComCallbackTest.TOKEN, WeComCallbackTest.AES_KEY)).start();
    web = WebClient.create(vertx);
  }

  @AfterEach
  void stop() {
    gateway.close();
  }

  private static String crafted(int bytes) {
    return "<xml>" + OPEN_ENCRYPT.repeat(bytes / OPEN_ENCRYPT.length());
  }

  private static String now() {
    return String.valueOf(System.currentTimeMillis() / 1000);
  }

  /** W2, signed now: a callback that must be answered "success". */
  private Future<HttpResponse<Buffer>> signedCallback() {
    String ts = now();
    String xml = "<xml><ToUserName><![CDATA[" + WeComCallbackTest.CORP + "]]></ToUserName>"
        + "<Encrypt><![CDATA[" + WeComCallbackTest.W2_CIPHER + "]]></Encrypt></xml>";
    String query = "?msg_signature=" + WeComCallbackTest.APP.signature(ts, "1372623149", WeComCallbackTest.W2_CIPHER)
        + "&timestamp=" + ts + "&nonce=1372623149";
    return web.postAbs(gateway.url("/webhooks/wecom/assistant" + query)).timeout(PATIENCE_MS).sendBuffer(Buffer.buffer(xml));
  }

  @Test
  @DisplayName("a crafted 576 KB WeCom body is refused with 413, and a signed callback sent alongside is answered")
  void largeCraftedBody(VertxTestContext ctx) {
    // straight onto the bus: the ingress's own body limit is not what is tested here
    InboundWeCom big = new InboundWeCom("assistant", "0000", now(), "1", null, Buffer.buffer(crafted(576 * 1024)));
    Future<Object> refused = gateway.vertx().eventBus()
        .request(Addresses.CHANNEL_INBOUND_WECOM, big, new DeliveryOptions().setSendTimeout(PATIENCE_MS))
        .map(m -> (Object) m.body())
        .recover(Future::succeededFuture);
    Future<HttpResponse<Buffer>> answered = signedCallback();
    Future.join(refused, answered).onComplete(ar -> ctx.verify(() -> {
      assertTrue(refused.result() instanceof ReplyException, String.valueOf(refused.result()));
      assertEquals(413, ((ReplyException) refused.result()).failureCode(), ((ReplyException) refused.result()).getMessage());
      assertTrue(answered.succeeded(), String.valueOf(answered.cause()));
      assertEquals(200, answered.result().statusCode(), answered.result().bodyAsString());
      assertEquals("success", answered.result().bodyAsString());
      ctx.completeNow();
    }));
  }

  @Test
  @DisplayName("crafted WeCom bodies under the 64 KB limit are refused as unreadable, and a signed callback sent after them is answered")
  void manySmallCraftedBodies(VertxTestContext ctx) {
    List<Future<HttpResponse<Buffer>>> crafted = new ArrayList<>();
    for (int i = 0; i < 24; i++) {
      String query = "?msg_signature=0000&timestamp=" + now() + "&nonce=" + i;
      crafted.add(web.postAbs(gateway.url("/webhooks/wecom/assistant" + query)).timeout(PATIENCE_MS)
          .sendBuffer(Buffer.buffer(crafted(60 * 1024))));
    }
    Future<HttpResponse<Buffer>> answered = signedCallback();
    Future.join(new ArrayList<Future<?>>(crafted)).eventually(() -> answered).onComplete(ar -> ctx.verify(() -> {
      for (Future<HttpResponse<Buffer>> f : crafted) {
        assertTrue(f.succeeded(), String.valueOf(f.cause()));
        assertEquals(400, f.result().statusCode(), f.result().bodyAsString());
        assertTrue(f.result().bodyAsString().contains("no Encrypt element"), f.result().bodyAsString());
      }
      assertTrue(answered.succeeded(), String.valueOf(answered.cause()));
      assertEquals("success", answered.result().bodyAsString());
      ctx.completeNow();
    }));
  }
}
