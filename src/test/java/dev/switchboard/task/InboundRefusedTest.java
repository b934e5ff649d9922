package dev.switchboard.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakePlatform;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A platform message that cannot become a runnable task is still answered 200 (the platform
 * would re-deliver anything else for hours) and is kept as a failed task that says why.
 */
@ExtendWith(VertxExtension.class)
@DisplayName("Inbound messages that cannot run")
class InboundRefusedTest {

  static final String APP_SECRET = "this is secret";

  FakeUpstream upstream;
  FakePlatform session;
  TestGateway gateway;
  WebClient web;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    // no MODEL_NAME and a model list that cannot be read: no model can be found for the message
    upstream.modelsFault(FakeUpstream.Fault.MALFORMED_JSON);
    session = FakePlatform.start(vertx, "{\"errcode\":0,\"errmsg\":\"ok\"}").await(10, TimeUnit.SECONDS);
    gateway = TestGateway.builder().upstream(upstream.baseUrl())
        .file("channels.yaml", """
            dingtalk:
              - name: "assistant"
                app_key: "ding-app-key"
                app_secret: "%s"
                robot_code: "ding-robot"
                mode: "callback"
                session_webhook_hosts: ["%s"]
            """.formatted(APP_SECRET, session.url("")))
        .start();
    web = WebClient.create(vertx);
  }

  @AfterEach
  void stop() {
    gateway.close();
  }

  private static String sign(long ts) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(APP_SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    return Base64.getEncoder().encodeToString(mac.doFinal((ts + "\n" + APP_SECRET).getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  @DisplayName("a DingTalk message with no model to answer it gets 200 and shows as a failed task naming MODEL_NAME")
  void recordedAsFailed() throws Exception {
    JsonObject message = new JsonObject()
        .put("conversationId", "cid-1").put("msgId", "msg-refused-1").put("senderNick", "杨xx")
        .put("senderStaffId", "user123").put("conversationType", "1").put("senderId", "$:LWCP_v1:$Ff09G")
        .put("sessionWebhookExpiredTime", System.currentTimeMillis() + 5_400_000).put("createAt", System.currentTimeMillis())
        .put("isInAtList", true).put("sessionWebhook", session.url("/robot/sendBySession?session=x"))
        .put("text", new JsonObject().put("content", "周会几点开")).put("msgtype", "text");
    long ts = System.currentTimeMillis();
    HttpResponse<Buffer> r = web.postAbs(gateway.url("/webhooks/dingtalk/assistant"))
        .putHeader("timestamp", String.valueOf(ts)).putHeader("sign", sign(ts))
        .sendJsonObject(message).await(10, TimeUnit.SECONDS);
    assertEquals(200, r.statusCode(), r.bodyAsString());
    String token = gateway.token("ops");
    long deadline = System.currentTimeMillis() + 10_000;
    JsonArray failed;
    do {
      failed = web.getAbs(gateway.url("/api/v1/tasks?status=failed")).bearerTokenAuthentication(token).send()
          .await(10, TimeUnit.SECONDS).bodyAsJsonObject().getJsonArray("data");
      Thread.sleep(25);
    } while (failed.isEmpty() && System.currentTimeMillis() < deadline);
    assertEquals(1, failed.size(), failed.encode());
    JsonObject task = failed.getJsonObject(0);
    assertEquals("周会几点开", task.getString("input"));
    assertTrue(task.getString("error").contains("MODEL_NAME"), task.encode());
    assertEquals(0, upstream.chatRequestCount(), "no model was called");
    assertEquals(0, session.received().size(), "nothing was sent back");
  }
}
