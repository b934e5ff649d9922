package dev.switchboard.doctor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestRedis;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.SqlClient;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code doctor} on the distributed profile, against the Redis and PostgreSQL that scripts/test.sh
 * starts (it fails without them), and once from the packaged jar.
 */
@DisplayName("The doctor command (distributed profile, and from the jar)")
class DoctorIT {

  @TempDir
  Path conf;
  @TempDir
  Path data;
  Vertx vertx;
  FakeUpstream upstream;
  final Map<String, String> env = new HashMap<>();
  final List<Process> started = new ArrayList<>();
  String out;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    env.put("SWITCHBOARD_CONF_DIR", conf.toString());
    env.put("SWITCHBOARD_DATA_DIR", data.toString());
    env.put("SWITCHBOARD_HTTP_PORT", String.valueOf(freePort()));
    env.put("SWITCHBOARD_OUTBOUND_ALLOW", "127.0.0.1");
    env.put("SWITCHBOARD_STORAGE", "distributed");
    env.put("REDIS_URL", TestRedis.url());
    env.put("DATABASE_URL", databaseUrl());
    env.put("MODEL_ENDPOINT", upstream.baseUrl());
    env.put("MODEL_API_KEY", "sk-good");
    Files.writeString(conf.resolve("switchboard.yaml"), """
        storage:
          profile: "${SWITCHBOARD_STORAGE:-embedded}"
          redis: "${REDIS_URL}"
          postgres: "${DATABASE_URL}"
        """);
    Files.writeString(conf.resolve("model_provider.yaml"), """
        providers:
          - name: "fake"
            endpoint: "${MODEL_ENDPOINT}"
            auth: { key: "${MODEL_API_KEY}" }
        """);
    Files.writeString(conf.resolve("channels.yaml"), "{}\n");
    Files.writeString(conf.resolve("rules.yaml"), "rules: []\n");
  }

  @AfterEach
  void stop() throws Exception {
    for (Process p : started) {
      p.destroy();
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    }
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private static String databaseUrl() {
    String url = System.getenv("DATABASE_URL");
    assertNotNull(url, "DATABASE_URL is not set: run the tests with scripts/test.sh, which starts PostgreSQL");
    return url;
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private int doctor() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    int code = Doctor.run(new String[] {"doctor"}, env::get, new PrintStream(bytes, true, StandardCharsets.UTF_8),
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    out = bytes.toString(StandardCharsets.UTF_8);
    System.out.print(out);
    return code;
  }

  private String line(String subject) {
    List<String> lines = out.lines().filter(l -> l.length() > 2 && l.substring(2).startsWith(subject)).toList();
    assertEquals(1, lines.size(), "one line about " + subject + " in:\n" + out);
    return lines.get(0);
  }

  private void assertLine(String mark, String subject, String... says) {
    String line = line(subject);
    assertTrue(line.startsWith(mark + " "), line);
    for (String s : says) {
      assertTrue(line.contains(s), "'" + s + "' in: " + line);
    }
  }

  /** A statement on the test database as its owner (a superuser in scripts/test.sh). */
  private void sql(String statement) throws Exception {
    sql(databaseUrl(), statement);
  }

  private void sql(String url, String statement) throws Exception {
    SqlClient c = PgBuilder.client().connectingTo(PgConnectOptions.fromUri(url)).using(vertx).build();
    try {
      c.query(statement).execute().await(30, TimeUnit.SECONDS);
    } finally {
      c.close().await(10, TimeUnit.SECONDS);
    }
  }

  @Test
  @DisplayName("healthy: Redis PONG with its version and AOF on, PostgreSQL's version, pgvector's version, the schema")
  void healthy() {
    assertEquals(Doctor.HEALTHY, doctor());
    assertLine("✓", "redis ", "PONG, Redis ", "appendonly yes");
    assertLine("✓", "postgresql ", "connected as switchboard, PostgreSQL 15");
    assertLine("✓", "pgvector:", "extension vector 0.", "installed");
    assertLine("✓", "schema:");
  }

  @Test
  @DisplayName("an empty database: pgvector and the tables will be created on first start")
  void emptyDatabase() throws Exception {
    withDatabase(url -> {
      assertEquals(Doctor.HEALTHY, doctor());
      assertLine("✓", "pgvector:", "not installed: will be created on first start");
      assertLine("✓", "schema:", "no switchboard tables yet: will be created on first start");
    });
  }

  /** A fresh database of its own, dropped after {@code body}. */
  private void withDatabase(ThrowingConsumer body) throws Exception {
    String db = "doctor_it_" + System.nanoTime();
    sql("CREATE DATABASE " + db);
    try {
      String url = databaseUrl().replaceFirst("/[^/]*$", "/" + db);
      env.put("DATABASE_URL", url);
      body.accept(url);
    } finally {
      sql("DROP DATABASE IF EXISTS " + db + " WITH (FORCE)");
    }
  }

  interface ThrowingConsumer {
    void accept(String url) throws Exception;
  }

  /** The audit store's own schema step, as a gateway's first append or verify runs it. */
  private void migrateAudit(String url) throws Exception {
    dev.switchboard.audit.PgAuditLog audit = new dev.switchboard.audit.PgAuditLog(vertx, url);
    try {
      audit.verify().await(30, TimeUnit.SECONDS);
    } finally {
      audit.close().await(10, TimeUnit.SECONDS);
    }
  }

  @Test
  @DisplayName("a partly migrated database: the migrations applied, and those the first start will apply")
  void partlyMigrated() throws Exception {
    withDatabase(url -> {
      migrateAudit(url);
      assertEquals(Doctor.HEALTHY, doctor());
      assertLine("✓", "schema:", "migrations [1001] applied; [1, 2, 3, 4] will be applied on first start");
    });
  }

  @Test
  @DisplayName("a migration recorded whose table is gone: ✗ naming the table")
  void tableGone() throws Exception {
    withDatabase(url -> {
      migrateAudit(url);
      sql(url, "DROP TABLE audit_log");
      assertEquals(Doctor.BROKEN, doctor());
      assertLine("✗", "schema:", "table audit_log is missing", "→ fix: ");
    });
  }

  @Test
  @DisplayName("a Redis URL with no server and a database that does not exist: ✗ each, with the fix, exit 1")
  void nothingThere() throws Exception {
    env.put("REDIS_URL", "redis://127.0.0.1:" + freePort());
    env.put("DATABASE_URL", databaseUrl().replaceFirst("/[^/]*$", "/no_such_database"));
    assertEquals(Doctor.BROKEN, doctor());
    assertLine("✗", "redis ", "cannot talk to it", "→ fix: start Redis there, or point REDIS_URL (storage.redis in ");
    assertLine("✗", "postgresql ", "database no_such_database does not exist", "→ fix: create it", "DATABASE_URL");
  }

  @Test
  @DisplayName("a Redis without its append-only file: ✗ saying what is lost, and how to turn it on")
  void redisWithoutAof() throws Exception {
    int port = freePort();
    Process redis = new ProcessBuilder("redis-server", "--port", String.valueOf(port), "--bind", "127.0.0.1",
        "--appendonly", "no", "--save", "", "--dir", data.toString()).redirectErrorStream(true)
        .redirectOutput(data.resolve("redis.log").toFile()).start();
    started.add(redis);
    env.put("REDIS_URL", "redis://127.0.0.1:" + port);
    awaitListening(port);
    assertEquals(Doctor.BROKEN, doctor());
    assertLine("✗", "redis ", "appendonly no: a Redis restart loses queued tasks", "→ fix: run Redis with appendonly yes");
  }

  private static void awaitListening(int port) throws Exception {
    for (int i = 0; i < 100; i++) {
      try {
        new java.net.Socket("127.0.0.1", port).close();
        return;
      } catch (java.io.IOException notYet) {
        Thread.sleep(100);
      }
    }
    throw new AssertionError("redis-server did not listen on " + port + " within 10 s");
  }

  @Test
  @DisplayName("from the packaged jar: the same report, UTF-8 marks, exit 0")
  void fromTheJar() throws Exception {
    List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
        Path.of("target", "switchboard.jar").toString(), "doctor");
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().keySet().removeIf(k -> k.startsWith("SWITCHBOARD_") || k.startsWith("MODEL_") || k.startsWith("DINGTALK_"));
    pb.environment().putAll(env);
    pb.environment().put("LANG", "C");
    Process p = pb.start();
    started.add(p);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "doctor finishes");
    String said = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    System.out.print(said);
    assertEquals(0, p.exitValue(), said + new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
    assertTrue(said.startsWith("✓ configuration: "), said);
    assertTrue(said.contains("✓ provider fake: ") && said.contains("✓ redis ") && said.contains("✓ pgvector: "), said);
  }
}
