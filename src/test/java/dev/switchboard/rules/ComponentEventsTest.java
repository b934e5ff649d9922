package dev.switchboard.rules;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakePlatform;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The events the gateway's own components raise reach the rules: a task that failed for good, a
 * delivery that failed, a provider that went down. Nothing is raised by the test itself: the
 * task queue, the channel component and the model component do it, over real HTTP fakes.
 */
@DisplayName("Rules on the components' own events")
class ComponentEventsTest {

  Vertx vertx;
  WebClient web;
  FakePlatform out;
  FakePlatform refusing;
  FakeUpstream upstream;
  TestGateway gateway;
  String token;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    web = WebClient.create(vertx);
    out = FakePlatform.start(vertx, "{}").await(10, TimeUnit.SECONDS);
    refusing = FakePlatform.start(vertx, "{}").await(10, TimeUnit.SECONDS);
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "fake-model")
        .file("switchboard.yaml", "queue:\n  retry_backoff: 50ms\n")
        .file("channels.yaml", """
            webhooks:
              - name: "out"
                url: "%s"
                secret: "out-secret"
              - name: "refusing"
                url: "%s"
                secret: "refusing-secret"
            """.formatted(out.url("/out"), refusing.url("/refusing"))).start();
    token = gateway.token("events-test");
    HttpResponse<Buffer> r = web.requestAbs(HttpMethod.PUT, gateway.url("/api/v1/rules")).bearerTokenAuthentication(token)
        .sendJsonObject(new JsonObject().put("rules", new JsonArray()
            .add(rule("task-failed", new JsonObject().put("task", "failed"), "task failed: {{event.task.input}}"))
            .add(rule("delivery-failed", new JsonObject().put("delivery", "failed"),
                "delivery failed: {{event.delivery.bot}} {{event.delivery.status}}"))
            .add(rule("provider-down", new JsonObject().put("provider", "down"), "provider down: {{event.provider}}"))))
        .await(20, TimeUnit.SECONDS);
    assertEquals(200, r.statusCode(), r.bodyAsString());
  }

  @AfterEach
  void stop() {
    gateway.close();
    vertx.close();
  }

  private static JsonObject rule(String name, JsonObject on, String text) {
    return new JsonObject().put("name", name).put("on", on).put("do", new JsonArray().add(new JsonObject()
        .put("push", new JsonObject().put("channels", new JsonArray().add(new JsonObject().put("type", "webhook").put("bot", "out")))
            .put("text", text))));
  }

  private List<String> outTexts() {
    return out.received().stream().map(FakePlatform.Received::body).toList();
  }

  private static void eventually(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within 20 s: " + what);
      }
      Thread.sleep(20);
    }
  }

  private void submit(JsonObject task) throws Exception {
    HttpResponse<Buffer> r = web.postAbs(gateway.url("/api/v1/tasks")).bearerTokenAuthentication(token)
        .sendJsonObject(task).await(10, TimeUnit.SECONDS);
    assertEquals(202, r.statusCode(), r.bodyAsString());
  }

  @Test
  @DisplayName("a task that fails for good fires on: {task: failed}, once")
  void taskFailed() throws Exception {
    upstream.down(true);
    submit(new JsonObject().put("input", "doomed").put("max_attempts", 2));
    eventually(() -> outTexts().stream().anyMatch(t -> t.contains("task failed: doomed")), "the task-failed rule's push");
    Thread.sleep(500);
    assertEquals(1, outTexts().stream().filter(t -> t.contains("task failed: doomed")).count(), outTexts().toString());
  }

  @Test
  @DisplayName("a push the platform refuses fires on: {delivery: failed} with the bot and status")
  void deliveryFailed() throws Exception {
    refusing.thenAnswer(400, "{\"error\":\"no\"}");
    submit(new JsonObject().put("input", "to a refusing hook")
        .put("channels", new JsonArray().add(new JsonObject().put("type", "webhook").put("bot", "refusing"))));
    eventually(() -> outTexts().stream().anyMatch(t -> t.contains("delivery failed: refusing failed")), "the delivery-failed rule's push");
  }

  @Test
  @DisplayName("a provider that goes down under live traffic fires on: {provider: down}")
  void providerDown() throws Exception {
    upstream.down(true);
    for (int i = 0; i < 6 && outTexts().stream().noneMatch(t -> t.contains("provider down: default")); i++) {
      web.postAbs(gateway.url("/v1/chat/completions")).bearerTokenAuthentication(token)
          .sendJsonObject(new JsonObject().put("model", "fake-model")
              .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hi"))))
          .await(60, TimeUnit.SECONDS);
    }
    eventually(() -> outTexts().stream().anyMatch(t -> t.contains("provider down: default")), "the provider-down rule's push");
    assertTrue(outTexts().stream().filter(t -> t.contains("provider down: default")).count() == 1, outTexts().toString());
  }
}
