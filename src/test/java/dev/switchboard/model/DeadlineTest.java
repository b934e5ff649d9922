package dev.switchboard.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.FakeUpstream.Fault;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code retry.deadline} bounds the whole request, and the error a client gets says how many
 * attempts were made over how long. One provider "a" with a total timeout of 1s and three attempts.
 */
@ExtendWith(VertxExtension.class)
@DisplayName("The retry deadline bounds the whole request, and the final error counts the attempts")
class DeadlineTest {

  FakeUpstream a;
  TestGateway gateway;
  WebClient web;

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

  private void boot(String deadline) {
    gateway = TestGateway.builder().file("model_provider.yaml", """
        providers:
          - name: "a"
            endpoint: "%s"
            auth: { type: "api_key", key: "key-a" }
            models: ["fake-model"]
            timeouts: { connect: 1s, first_token: 1s, total: 1s }
        groups:
          - name: "chat"
            deployments:
              - { provider: "a", model: "fake-model" }
        retry: { max_attempts: 3, deadline: %s, backoff: { base: 10ms, max: 20ms } }
        health_check: { interval: 1h }
        """.formatted(a.baseUrl(), deadline)).start();
  }

  private String error(boolean stream) throws Exception {
    JsonObject body = new JsonObject().put("model", "chat").put("stream", stream)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hi")));
    HttpResponse<Buffer> r = web.postAbs(gateway.url("/v1/chat/completions")).bearerTokenAuthentication(gateway.token("t"))
        .sendJsonObject(body).await(30, TimeUnit.SECONDS);
    assertEquals(504, r.statusCode(), r.bodyAsString());
    return r.bodyAsJsonObject().getJsonObject("error").getString("message");
  }

  @Test
  @DisplayName("when the attempts run out, the error says how many were made over how long")
  void attemptsCounted() throws Exception {
    a.delay(Duration.ofSeconds(5));
    boot("60s");
    String message = error(false);
    assertTrue(message.matches("upstream 'a' did not answer within 1s \\(3 attempts over \\d+\\.\\ds\\)"), message);
    assertEquals(3, a.chatRequestCount());
  }

  @Test
  @DisplayName("an attempt started near the deadline only gets the time left, and the error says the deadline gave up")
  void deadlineCutsTheLastAttempt() throws Exception {
    a.delay(Duration.ofSeconds(5));
    boot("1500ms");
    String message = error(false);
    // the second attempt had about half a second, not the provider's full second
    assertTrue(message.matches("gave up on 'chat' after 2 attempts over \\d+\\.\\ds \\(retry\\.deadline 1\\.5s\\): "
        + "upstream 'a' did not answer within \\d+ms"), message);
    assertEquals(2, a.chatRequestCount());
  }

  @Test
  @DisplayName("a stream waits for its first token only until the deadline")
  void deadlineCutsTheFirstTokenWait() throws Exception {
    a.fault(Fault.STALL_AFTER_HEADERS);
    boot("1500ms");
    String message = error(true);
    assertTrue(message.matches("gave up on 'chat' after 2 attempts over \\d+\\.\\ds \\(retry\\.deadline 1\\.5s\\): "
        + "upstream 'a' sent no token within \\d+ms"), message);
  }
}
