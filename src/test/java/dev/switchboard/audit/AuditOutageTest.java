package dev.switchboard.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.cluster.Until;
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
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The embedded audit file taken away while the gateway runs (a directory where the file was, so
 * that nothing can be appended): records go to the spool, /readyz and /metrics say so, and once
 * the file is back everything is in it, in order, and the chain holds.
 */
@ExtendWith(VertxExtension.class)
@DisplayName("Audit log while its file cannot be written")
class AuditOutageTest {

  TestGateway gateway;
  WebClient web;
  Path file;
  Path aside;

  @BeforeEach
  void start(Vertx vertx) {
    web = WebClient.create(vertx);
    gateway = TestGateway.builder().start();
    file = gateway.dataDir().resolve(EmbeddedAuditLog.FILE);
    aside = gateway.dataDir().resolve("audit.aside");
  }

  @AfterEach
  void stop() {
    if (gateway != null) {
      gateway.close();
    }
  }

  private void refused(String path) throws Exception {
    assertEquals(401, web.getAbs(gateway.url(path)).send().await(10, TimeUnit.SECONDS).statusCode());
  }

  private JsonObject readyz() throws Exception {
    return web.getAbs(gateway.url("/readyz")).send().await(10, TimeUnit.SECONDS).bodyAsJsonObject();
  }

  private List<String> failedTargets() throws Exception {
    HttpResponse<Buffer> r = web.getAbs(gateway.url("/api/v1/audit?action=auth.failure"))
        .bearerTokenAuthentication(gateway.token("admin")).send().await(10, TimeUnit.SECONDS);
    assertEquals(200, r.statusCode(), r.bodyAsString());
    JsonArray data = r.bodyAsJsonObject().getJsonArray("data");
    return data.stream().map(x -> ((JsonObject) x).getString("target")).toList();
  }

  @Test
  @DisplayName("records are spooled while the file is away, reported in /readyz and /metrics, and appended in order when it is back")
  void spooledAndDrained() throws Exception {
    refused("/api/v1/one");
    refused("/api/v1/two");
    Until.holds(Duration.ofSeconds(10), "two records in the file", () -> Files.exists(file) && Files.readAllLines(file).size() == 2);

    Files.move(file, aside);
    Files.createDirectory(file);
    refused("/api/v1/three");
    refused("/api/v1/four");
    Until.holds(Duration.ofSeconds(10), "/readyz says degraded with two spooled", () -> {
      JsonObject audit = readyz().getJsonObject("components").getJsonObject("audit");
      return "degraded".equals(audit.getString("status")) && audit.getLong("spooled") == 2;
    });
    JsonObject ready = readyz();
    assertEquals("ready", ready.getString("status"), "serving goes on: " + ready.encode());
    assertTrue(ready.getJsonObject("components").getJsonObject("audit").getString("error").length() > 0, ready.encode());
    String metrics = web.getAbs(gateway.url("/metrics")).send().await(10, TimeUnit.SECONDS).bodyAsString();
    assertTrue(metrics.contains("switchboard_audit_spooled 2.0"), "the spooled gauge");
    assertTrue(metrics.contains("switchboard_audit_records_total 2.0"), "the appended counter");

    Files.delete(file);
    Files.move(aside, file);
    Until.holds(Duration.ofSeconds(15), "the audit entry is up again",
        () -> "up".equals(readyz().getJsonObject("components").getJsonObject("audit").getString("status")));

    // the GET of the audit itself is a read: not recorded
    assertEquals(List.of("/api/v1/four", "/api/v1/three", "/api/v1/two", "/api/v1/one"), failedTargets());
    AuditLog.Verification v = new EmbeddedAuditLog(gateway.vertx(), gateway.dataDir()).verify().await(10, TimeUnit.SECONDS);
    assertTrue(v.intact(), v.describe());
    assertEquals(4, v.records());
    assertTrue(!Files.exists(gateway.dataDir().resolve(AuditSpool.FILE)), "the spool is gone once drained");
  }

  @Test
  @DisplayName("a spool left by a previous run is appended first when the gateway starts again")
  void spoolOfPreviousRunGoesFirst() throws Exception {
    refused("/api/v1/one");
    Until.holds(Duration.ofSeconds(10), "one record in the file", () -> Files.exists(file) && Files.readAllLines(file).size() == 1);
    gateway.stop();
    Files.writeString(gateway.dataDir().resolve(AuditSpool.FILE), AuditSpool.toJson(
        AuditEvent.of("", "auth.failure", "/api/v1/left-over", "refused")).encode() + "\n");

    gateway.restart();
    refused("/api/v1/after");
    Until.holds(Duration.ofSeconds(15), "three records", () -> failedTargets().size() == 3);
    assertEquals(List.of("/api/v1/after", "/api/v1/left-over", "/api/v1/one"), failedTargets());
  }
}
