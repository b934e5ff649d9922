package dev.switchboard.ingress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Platform callbacks are small: DingTalk and WeCom bodies are refused over 64 KB, Feishu's over
 * 256 KB, generic hooks at the server limit; the 413 comes before any platform code reads them.
 */
@DisplayName("Webhook bodies are bounded per platform")
class WebhookBodyLimitTest {

  static Vertx vertx;
  static TestGateway gateway;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
    gateway = TestGateway.builder().start();
  }

  @AfterAll
  static void stop() {
    gateway.close();
    vertx.close().await();
  }

  private static HttpResponse<Buffer> post(String path, int bytes) throws Exception {
    String json = "{\"text\":\"" + "x".repeat(bytes - 11) + "\"}";
    return WebClient.create(vertx).postAbs(gateway.url(path)).putHeader("Content-Type", "application/json")
        .sendBuffer(Buffer.buffer(json)).await(30, TimeUnit.SECONDS);
  }

  @Test
  @DisplayName("DingTalk and WeCom callbacks over 64 KB are 413 naming the limit")
  void dingtalkAndWecom() throws Exception {
    for (String path : new String[] {"/webhooks/dingtalk/assistant", "/webhooks/wecom/assistant"}) {
      HttpResponse<Buffer> r = post(path, 64 * 1024 + 1);
      assertEquals(413, r.statusCode(), path + " " + r.bodyAsString());
      assertTrue(r.bodyAsString().contains(String.valueOf(64 * 1024)), r.bodyAsString());
      assertNotEquals(413, post(path, 64 * 1024).statusCode(), path + " at the limit");
    }
  }

  @Test
  @DisplayName("Feishu events over 256 KB are 413")
  void feishu() throws Exception {
    assertEquals(413, post("/webhooks/feishu/assistant", 256 * 1024 + 1).statusCode());
    assertNotEquals(413, post("/webhooks/feishu/assistant", 256 * 1024).statusCode());
  }

  @Test
  @DisplayName("generic hooks take bodies up to server.max_body_size")
  void genericHooks() throws Exception {
    assertNotEquals(413, post("/webhooks/hooks/ci", 1024 * 1024).statusCode());
    assertEquals(413, post("/webhooks/hooks/ci", 4 * 1024 * 1024 + 1).statusCode());
  }
}
