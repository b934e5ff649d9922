package dev.switchboard.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * An upstream or a platform that answers a redirect (302, or 307 for a POST) to another host: the gateway does not follow, so the
 * other host hears nothing and the call fails as that answer. The redirect would lead past the check
 * the configured URL passed.
 */
@ExtendWith(VertxExtension.class)
@DisplayName("Redirects to another host are not followed")
class OutboundRedirectTest {

  Vertx vertx;
  HttpServer elsewhere;
  HttpServer redirecting;
  final AtomicInteger elsewhereHits = new AtomicInteger();
  final AtomicInteger redirected = new AtomicInteger();
  TestGateway gateway;
  WebClient web;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    this.vertx = vertx;
    elsewhere = vertx.createHttpServer().requestHandler(req -> {
      elsewhereHits.incrementAndGet();
      req.response().putHeader("content-type", "application/json").end("{\"ok\":true}");
    }).listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
    // "localhost" is another host than the 127.0.0.1 the gateway was configured with
    String target = "http://localhost:" + elsewhere.actualPort();
    redirecting = vertx.createHttpServer().requestHandler(req -> {
      redirected.incrementAndGet();
      // 307 keeps the method: a POST would be repeated there, body and signature included
      req.response().setStatusCode(req.method() == io.vertx.core.http.HttpMethod.POST ? 307 : 302)
          .putHeader("location", target + req.uri()).end();
    }).listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
    web = WebClient.create(vertx);
  }

  @AfterEach
  void stop() {
    if (gateway != null) {
      gateway.close();
    }
  }

  private String redirectingUrl(String path) {
    return "http://127.0.0.1:" + redirecting.actualPort() + path;
  }

  @Test
  void aProviderThatRedirectsFailsTheChatAndTheOtherHostHearsNothing() throws Exception {
    gateway = TestGateway.builder().upstream(redirectingUrl("/v1")).start();
    JsonObject chat = new JsonObject().put("model", "any-model")
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hi")));
    HttpResponse<Buffer> response = web.postAbs(gateway.url("/v1/chat/completions"))
        .bearerTokenAuthentication(gateway.token("alice")).sendJsonObject(chat).await(30, TimeUnit.SECONDS);
    assertTrue(response.statusCode() >= 500, response.statusCode() + " " + response.bodyAsString());
    assertTrue(redirected.get() > 0, "the provider was called");
    assertEquals(0, elsewhereHits.get(), "the redirect was followed");
  }

  @Test
  void aWebhookThatRedirectsIsAFailedPushAndTheOtherHostHearsNothing() throws Exception {
    FakeUpstream upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "fake-model")
        .file("channels.yaml", """
            webhooks:
              - name: "erp"
                url: "%s"
                secret: "hook-secret"
                retry: { max_attempts: 1 }
            """.formatted(redirectingUrl("/erp")))
        .start();
    String token = gateway.token("alice");
    JsonObject task = new JsonObject().put("input", "sync")
        .put("channels", new JsonArray().add(new JsonObject().put("type", "webhook").put("bot", "erp")));
    String id = web.postAbs(gateway.url("/api/v1/tasks")).bearerTokenAuthentication(token).sendJsonObject(task)
        .await(10, TimeUnit.SECONDS).bodyAsJsonObject().getString("id");
    JsonObject delivery = settled(id, token).await(30, TimeUnit.SECONDS);
    assertNotEquals("delivered", delivery.getString("status"), delivery.encode());
    assertTrue(redirected.get() > 0, "the webhook was called");
    assertEquals(0, elsewhereHits.get(), "the redirect was followed");
  }

  /** The task's first delivery once it has left pending. */
  private Future<JsonObject> settled(String id, String token) {
    io.vertx.core.Promise<JsonObject> done = io.vertx.core.Promise.promise();
    long deadline = System.currentTimeMillis() + 25_000;
    vertx.setPeriodic(50, timer -> web.getAbs(gateway.url("/api/v1/tasks/" + id)).bearerTokenAuthentication(token).send()
        .map(HttpResponse::bodyAsJsonObject)
        .onSuccess(t -> {
          JsonArray deliveries = t.getJsonArray("deliveries", new JsonArray());
          JsonObject first = deliveries.isEmpty() ? null : deliveries.getJsonObject(0);
          if (first != null && !"pending".equals(first.getString("status")) || System.currentTimeMillis() > deadline) {
            vertx.cancelTimer(timer);
            done.tryComplete(first == null ? new JsonObject().put("status", "none: " + t.encode()) : first);
          }
        }));
    return done.future();
  }
}
