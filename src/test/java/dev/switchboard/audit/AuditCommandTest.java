package dev.switchboard.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.Settings;
import dev.switchboard.config.ConfigError;
import io.vertx.core.Vertx;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code audit verify}: what it prints and its exit codes; and the {@code audit:} settings. */
@DisplayName("The audit verify command and the audit settings")
class AuditCommandTest {

  @TempDir
  Path conf;
  @TempDir
  Path data;
  Vertx vertx;
  final ByteArrayOutputStream out = new ByteArrayOutputStream();
  final ByteArrayOutputStream err = new ByteArrayOutputStream();

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    for (String name : new String[] {"switchboard.yaml", "model_provider.yaml", "channels.yaml", "rules.yaml"}) {
      Files.copy(Path.of("conf", name), conf.resolve(name));
    }
  }

  @AfterEach
  void stop() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private Settings settings() {
    return Settings.load(conf, Map.of("SWITCHBOARD_DATA_DIR", data.toString())::get);
  }

  private int verify(String... args) {
    return AuditCommand.run(args, settings(), new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  private void append(int n) throws Exception {
    EmbeddedAuditLog log = new EmbeddedAuditLog(vertx, data);
    for (int i = 1; i <= n; i++) {
      log.append(List.of(AuditEvent.of("alice", "a", "target-" + i, "ok"))).await(10, TimeUnit.SECONDS);
    }
    log.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  @DisplayName("an intact chain: exit 0 and the number of records")
  void intactExitsZero() throws Exception {
    append(3);
    assertEquals(AuditCommand.INTACT, verify("audit", "verify"));
    assertEquals("chain intact, 3 records\n", out.toString(StandardCharsets.UTF_8));
  }

  @Test
  @DisplayName("one changed byte: exit 1 naming the first broken record")
  void changedByteExitsOne() throws Exception {
    append(3);
    Path file = data.resolve(EmbeddedAuditLog.FILE);
    Files.writeString(file, Files.readString(file).replace("target-2", "target-7"));

    assertEquals(AuditCommand.BROKEN, verify("audit", "verify"));
    String said = err.toString(StandardCharsets.UTF_8);
    assertTrue(said.startsWith("chain broken at record 2: "), said);
  }

  @Test
  @DisplayName("no log yet is an intact empty chain; a wrong subcommand is exit 2")
  void emptyAndUsage() {
    assertEquals(AuditCommand.INTACT, verify("audit", "verify"));
    assertEquals("chain intact, 0 records\n", out.toString(StandardCharsets.UTF_8));
    assertEquals(AuditCommand.USAGE, verify("audit", "check"));
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("usage: audit verify"));
  }

  @Test
  @DisplayName("events still in the spool are mentioned")
  void spoolIsMentioned() throws Exception {
    append(1);
    Files.writeString(data.resolve(AuditSpool.FILE), AuditSpool.toJson(AuditEvent.of("", "a", "t", "ok")).encode() + "\n");
    assertEquals(AuditCommand.INTACT, verify("audit", "verify"));
    assertTrue(out.toString(StandardCharsets.UTF_8).contains("1 events wait in"), out.toString(StandardCharsets.UTF_8));
  }

  @Test
  @DisplayName("audit settings: shipped defaults, and a bad key or value is refused naming it")
  void auditSettings() throws Exception {
    assertEquals(AuditSettings.DEFAULT, settings().audit());
    Path yaml = conf.resolve("switchboard.yaml");
    String shipped = Files.readString(yaml);
    Files.writeString(yaml, shipped.replace("include_bodies: false", "include_bodies: sometimes"));
    ConfigError bad = assertThrows(ConfigError.class, this::settings);
    assertTrue(bad.getMessage().contains("audit.include_bodies"), bad.getMessage());
    Files.writeString(yaml, shipped.replace("  enabled: true\n  include_bodies", "  enabled: true\n  bodies: true\n  include_bodies"));
    ConfigError unknown = assertThrows(ConfigError.class, this::settings);
    assertTrue(unknown.getMessage().contains("audit"), unknown.getMessage());
    assertTrue(unknown.getMessage().contains("bodies"), unknown.getMessage());
    Files.writeString(yaml, shipped.replace("include_bodies: false", "include_bodies: true"));
    assertFalse(AuditSettings.DEFAULT.includeBodies());
    assertTrue(settings().audit().includeBodies());
  }
}
