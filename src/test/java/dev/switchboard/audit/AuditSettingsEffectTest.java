package dev.switchboard.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** What {@code audit.enabled} and {@code audit.include_bodies} change in a running gateway. */
@ExtendWith(VertxExtension.class)
@DisplayName("The audit settings")
class AuditSettingsEffectTest {

  private static TestGateway gateway(Vertx vertx, String from, String to) throws Exception {
    dev.switchboard.testing.FakeUpstream upstream = dev.switchboard.testing.FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    String shipped = Files.readString(Path.of("conf", "switchboard.yaml"));
    assertTrue(shipped.contains(from), "the shipped file has '" + from + "'");
    return TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "fake-model").file("switchboard.yaml", shipped.replace(from, to)).start();
  }

  @Test
  @DisplayName("include_bodies: true keeps an API request's body in its record")
  void bodiesKeptWhenAsked(Vertx vertx) throws Exception {
    try (TestGateway gateway = gateway(vertx, "include_bodies: false", "include_bodies: true")) {
      WebClient web = WebClient.create(vertx);
      String token = gateway.token("alice");
      assertEquals(202, web.postAbs(gateway.url("/api/v1/tasks")).bearerTokenAuthentication(token)
          .sendJsonObject(new JsonObject().put("input", "kept in the record").put("delay", "1h"))
          .await(10, TimeUnit.SECONDS).statusCode());
      JsonObject record = null;
      long deadline = System.currentTimeMillis() + 10_000;
      while (record == null && System.currentTimeMillis() < deadline) {
        JsonArray data = web.getAbs(gateway.url("/api/v1/audit?action=api.task.submit")).bearerTokenAuthentication(token)
            .send().await(10, TimeUnit.SECONDS).bodyAsJsonObject().getJsonArray("data");
        record = data.isEmpty() ? null : data.getJsonObject(0);
        Thread.sleep(record == null ? 50 : 0);
      }
      assertTrue(record != null, "no api.task.submit record");
      String body = record.getJsonObject("details").getString(AuditEvent.BODY);
      assertTrue(body != null && body.contains("kept in the record"), record.encode());
    }
  }

  @Test
  @DisplayName("enabled: false turns the log off: the API answers 404 and /readyz says off")
  void offWhenDisabled(Vertx vertx) throws Exception {
    try (TestGateway gateway = gateway(vertx, "  enabled: true\n  include_bodies", "  enabled: false\n  include_bodies")) {
      WebClient web = WebClient.create(vertx);
      HttpResponse<Buffer> api = web.getAbs(gateway.url("/api/v1/audit")).bearerTokenAuthentication(gateway.token("alice"))
          .send().await(10, TimeUnit.SECONDS);
      assertEquals(404, api.statusCode(), api.bodyAsString());
      JsonObject ready = web.getAbs(gateway.url("/readyz")).send().await(10, TimeUnit.SECONDS).bodyAsJsonObject();
      assertEquals("off", ready.getJsonObject("components").getJsonObject("audit").getString("status"), ready.encode());
    }
  }
}
