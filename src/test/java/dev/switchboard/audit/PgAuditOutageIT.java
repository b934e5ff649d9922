package dev.switchboard.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.Health;
import dev.switchboard.bus.LocalCodec;
import dev.switchboard.cluster.Until;
import dev.switchboard.testing.TcpProxy;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The audit writer while PostgreSQL is away: its connection goes through a {@link TcpProxy}
 * that the test takes down and brings back. Nothing sent meanwhile is lost or reordered.
 */
@DisplayName("Audit log while PostgreSQL is down")
class PgAuditOutageIT {

  Vertx vertx;
  Pool admin;
  TcpProxy proxy;
  String schema;
  Path dataDir;
  String deployment;

  @BeforeEach
  void start() throws Exception {
    String databaseUrl = System.getenv("DATABASE_URL");
    assertTrue(databaseUrl != null && !databaseUrl.isBlank(),
        "DATABASE_URL is not set: these tests need PostgreSQL (scripts/test.sh starts one)");
    vertx = Vertx.vertx();
    LocalCodec.registerAll(vertx.eventBus());
    PgConnectOptions pg = PgConnectOptions.fromUri(databaseUrl);
    admin = PgBuilder.pool().with(new PoolOptions().setMaxSize(1)).connectingTo(pg).using(vertx).build();
    schema = "audit_out_" + UUID.randomUUID().toString().substring(0, 8);
    admin.query("CREATE SCHEMA " + schema).execute().await(20, TimeUnit.SECONDS);
    proxy = TcpProxy.start(vertx, pg.getHost(), pg.getPort()).await(10, TimeUnit.SECONDS);
    String proxied = "postgresql://" + enc(pg.getUser()) + (pg.getPassword() == null ? "" : ":" + enc(pg.getPassword()))
        + "@127.0.0.1:" + proxy.port() + "/" + pg.getDatabase() + "?search_path=" + schema;
    dataDir = Files.createTempDirectory("audit-outage");
    deployment = vertx.deployVerticle(new AuditVerticle(AuditSettings.DEFAULT, dataDir, "postgresql",
        v -> new PgAuditLog(v, proxied))).await(20, TimeUnit.SECONDS);
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  @AfterEach
  void stop() throws Exception {
    vertx.undeploy(deployment).await(30, TimeUnit.SECONDS);
    admin.query("DROP SCHEMA " + schema + " CASCADE").execute().await(20, TimeUnit.SECONDS);
    admin.close().await(10, TimeUnit.SECONDS);
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private void send(String target) {
    Audit.record(vertx, AuditEvent.of("alice", "test.event", target, "ok"));
  }

  private JsonObject audit() throws Exception {
    Health h = vertx.eventBus().<Health>request(Addresses.AUDIT_HEALTH, null).await(10, TimeUnit.SECONDS).body();
    return h.entries().getJsonObject("audit");
  }

  private List<String> stored() throws Exception {
    JsonObject page = vertx.eventBus().<JsonObject>request(Addresses.AUDIT_QUERY, new JsonObject().put("limit", "100"))
        .await(20, TimeUnit.SECONDS).body();
    return page.getJsonArray("data").stream().map(r -> ((JsonObject) r).getString("target")).toList();
  }

  @Test
  @DisplayName("events sent while the store is down are spooled, reported, and stored in order once it is back")
  void spooledWhileDownStoredWhenBack() throws Exception {
    send("e1");
    send("e2");
    Until.holds(Duration.ofSeconds(20), "the first events are stored", () -> stored().size() == 2);

    proxy.down().await(10, TimeUnit.SECONDS);
    send("e3");
    send("e4");
    send("e5");
    Until.holds(Duration.ofSeconds(30), "the audit entry says degraded with 3 spooled", () -> {
      JsonObject a = audit();
      return "degraded".equals(a.getString("status")) && a.getLong("spooled") == 3;
    });
    JsonObject down = audit();
    assertEquals(false, down.getBoolean("required"), "serving goes on: readiness is not withdrawn");
    assertTrue(down.containsKey("error"), down.encode());
    assertTrue(Files.size(dataDir.resolve(AuditSpool.FILE)) > 0, "the spool is on disk");

    proxy.up().await(10, TimeUnit.SECONDS);
    send("e6");
    Until.holds(Duration.ofSeconds(30), "the spool is drained", () -> "up".equals(audit().getString("status")));
    Until.holds(Duration.ofSeconds(10), "all six are stored", () -> stored().size() == 6);

    assertEquals(List.of("e6", "e5", "e4", "e3", "e2", "e1"), stored(), "in the order they were sent");
    assertEquals(0L, audit().getLong("spooled"));
    AuditLog direct = new PgAuditLog(vertx, System.getenv("DATABASE_URL")
        + (System.getenv("DATABASE_URL").contains("?") ? "&" : "?") + "search_path=" + schema);
    try {
      AuditLog.Verification v = direct.verify().await(20, TimeUnit.SECONDS);
      assertTrue(v.intact(), v.describe());
      assertEquals(6, v.records());
    } finally {
      direct.close().await(10, TimeUnit.SECONDS);
    }
  }
}
