package dev.switchboard.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.LogCapture;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** A robot's URL holds its key: when a platform stops answering, the error recorded (and logged) must not quote it. */
@ExtendWith(VertxExtension.class)
@DisplayName("A push whose platform stops answering")
class PushTimeoutNoTokenTest {

  static final String KEY = "wecom-robot-Key-6a1f93";

  TestGateway gateway;
  LogCapture logs;

  @AfterEach
  void stop() {
    if (gateway != null) {
      gateway.close();
    }
    if (logs != null) {
      logs.close();
    }
  }

  @Test
  @DisplayName("is recorded dead with the timeout, and neither the delivery nor any log line carries the URL's key")
  void timeoutWithoutKey(Vertx vertx) throws Exception {
    FakeUpstream upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    // takes the request and never answers: the push's idle timeout ends it (Vert.x names the request's URI)
    HttpServer silent = vertx.createHttpServer().requestHandler(req -> req.body()).listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
    logs = LogCapture.json();
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "fake-model")
        .file("channels.yaml", """
            wecom:
              - name: "ops"
                webhook: "http://127.0.0.1:%d/cgi-bin/webhook/send?key=%s"
                retry: { max_attempts: 1 }
            """.formatted(silent.actualPort(), KEY))
        .start();
    WebClient web = WebClient.create(vertx);
    String token = gateway.token("alice");
    String id = web.postAbs(gateway.url("/api/v1/tasks")).bearerTokenAuthentication(token)
        .sendJsonObject(new JsonObject().put("input", "hi")
            .put("channels", new JsonArray().add(new JsonObject().put("type", "wecom").put("bot", "ops"))))
        .await(10, TimeUnit.SECONDS).bodyAsJsonObject().getString("id");
    JsonObject delivery = null;
    long deadline = System.currentTimeMillis() + 40_000;
    while (System.currentTimeMillis() < deadline) {
      JsonObject task = web.getAbs(gateway.url("/api/v1/tasks/" + id)).bearerTokenAuthentication(token).send()
          .await(10, TimeUnit.SECONDS).bodyAsJsonObject();
      JsonArray deliveries = task.getJsonArray("deliveries", new JsonArray());
      if (!deliveries.isEmpty() && !"pending".equals(deliveries.getJsonObject(0).getString("status"))) {
        delivery = deliveries.getJsonObject(0);
        break;
      }
      Thread.sleep(100);
    }
    assertTrue(delivery != null, "the push never ended");
    assertEquals("dead", delivery.getString("status"), delivery.encode());
    assertTrue(delivery.encode().contains("timeout"), delivery.encode());
    assertFalse(delivery.encode().contains(KEY), delivery.encode());
    assertFalse(logs.all().contains(KEY), logs.all());
  }
}
