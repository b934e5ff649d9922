package dev.switchboard.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * When a provider's keys cannot be used, the deployment state and the error a client gets say so:
 * refused keys are {@code keys_disabled} and 502, rate-limited keys {@code keys_resting} and 429.
 */
@ExtendWith(VertxExtension.class)
@DisplayName("A provider whose keys are refused or resting shows it and says so to clients")
class KeyStateTest {

  FakeUpstream a;
  TestGateway gateway;
  WebClient web;
  String token;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    a = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    web = WebClient.create(vertx);
  }

  @AfterEach
  void stop() {
    if (gateway != null) {
      gateway.close();
    }
  }

  private void boot(String auth) {
    gateway = TestGateway.builder().file("model_provider.yaml", """
        providers:
          - name: "a"
            endpoint: "%s"
            %s
            models: ["fake-model"]
            timeouts: { connect: 1s, first_token: 1s, total: 2s }
        groups:
          - name: "chat"
            deployments:
              - { provider: "a", model: "fake-model" }
        retry: { max_attempts: 3, deadline: 5s, backoff: { base: 10ms, max: 20ms } }
        health_check: { interval: 1h }
        """.formatted(a.baseUrl(), auth)).start();
    token = gateway.token("t");
  }

  private HttpResponse<Buffer> chat() throws Exception {
    JsonObject body = new JsonObject().put("model", "chat")
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hi")));
    return web.postAbs(gateway.url("/v1/chat/completions")).bearerTokenAuthentication(token).sendJsonObject(body)
        .await(20, TimeUnit.SECONDS);
  }

  private JsonObject deploymentA() throws Exception {
    JsonObject all = web.getAbs(gateway.url("/api/v1/providers")).bearerTokenAuthentication(token).send()
        .await(10, TimeUnit.SECONDS).bodyAsJsonObject();
    return all.getJsonArray("data").getJsonObject(0);
  }

  private String metrics() throws Exception {
    return web.getAbs(gateway.url("/metrics")).send().await(10, TimeUnit.SECONDS).bodyAsString();
  }

  private static String message(HttpResponse<Buffer> r) {
    return r.bodyAsJsonObject().getJsonObject("error").getString("message");
  }

  @Test
  @DisplayName("after a 401 disables the only key: state keys_disabled, and later requests get 502 naming the provider, without a call")
  void refusedKey() throws Exception {
    boot("auth: { type: \"api_key\", key: \"sk-revoked-123\" }");
    a.rejectKey("sk-revoked-123");
    HttpResponse<Buffer> first = chat();
    assertEquals(502, first.statusCode(), first.bodyAsString());
    HttpResponse<Buffer> second = chat();
    assertEquals(502, second.statusCode(), second.bodyAsString());
    assertEquals("upstream_auth_failed", second.bodyAsJsonObject().getJsonObject("error").getString("code"));
    assertTrue(message(second).startsWith("upstream 'a' refused its key"), message(second));
    assertFalse(second.bodyAsString().contains("sk-revoked-123"), "the key itself is never shown");
    assertEquals(1, a.chatRequestCount(), "a refused key is not tried again");
    JsonObject d = deploymentA();
    assertEquals("keys_disabled", d.getString("state"), d.encode());
    assertEquals("disabled", d.getJsonArray("keys").getJsonObject(0).getString("state"));
    assertTrue(metrics().contains("switchboard_deployment_state{model=\"fake-model\",provider=\"a\"} 5.0"));
  }

  @Test
  @DisplayName("a keyless provider that answers 401 is asked once, not three times, and then shows keys_disabled")
  void keylessProviderRefused() throws Exception {
    boot("auth: { type: \"none\" }");
    a.respondWith(401, "{\"error\":{\"message\":\"missing api key\",\"type\":\"invalid_request_error\"}}");
    HttpResponse<Buffer> first = chat();
    assertEquals(502, first.statusCode(), first.bodyAsString());
    assertEquals(1, a.chatRequestCount(), "no retries without credentials");
    HttpResponse<Buffer> second = chat();
    assertEquals(502, second.statusCode(), second.bodyAsString());
    assertTrue(message(second).contains("refused requests without a key"), message(second));
    assertEquals(1, a.chatRequestCount());
    assertEquals("keys_disabled", deploymentA().getString("state"));
  }

  @Test
  @DisplayName("while the only key rests after a 429: state keys_resting with cooldown_until, and requests get 429 saying until when")
  void restingKey() throws Exception {
    boot("auth: { type: \"api_key\", key: \"sk-busy\" }");
    a.respondWith(429, "{\"error\":{\"message\":\"slow down\",\"type\":\"rate_limit_error\"}}", Map.of("Retry-After", "60"))
        .failTimes(1);
    HttpResponse<Buffer> first = chat();
    assertEquals(429, first.statusCode(), first.bodyAsString());
    HttpResponse<Buffer> second = chat();
    assertEquals(429, second.statusCode(), second.bodyAsString());
    assertEquals("keys_resting", second.bodyAsJsonObject().getJsonObject("error").getString("code"));
    assertTrue(message(second).startsWith("upstream 'a' rate-limited its key; the first is free again at "), message(second));
    assertEquals(1, a.chatRequestCount());
    JsonObject d = deploymentA();
    assertEquals("keys_resting", d.getString("state"), d.encode());
    JsonObject key = d.getJsonArray("keys").getJsonObject(0);
    assertEquals("cooldown", key.getString("state"));
    assertNotNull(key.getString("cooldown_until"));
    assertTrue(metrics().contains("switchboard_deployment_state{model=\"fake-model\",provider=\"a\"} 4.0"));
  }
}
