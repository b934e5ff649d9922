package dev.switchboard.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** {@code security.legacy_tokens}: what a token without roles may do, and what start-up says about it. */
@DisplayName("Tokens without roles (security.legacy_tokens)")
class LegacyTokensTest {

  final List<LogRecord> warnings = new CopyOnWriteArrayList<>();
  final Handler capture = new Handler() {
    @Override
    public void publish(LogRecord record) {
      if (record.getLevel().intValue() >= Level.WARNING.intValue()) {
        warnings.add(record);
      }
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
    }
  };
  Vertx vertx;
  TestGateway gateway;

  @BeforeEach
  void listen() {
    Logger.getLogger("").addHandler(capture);
    vertx = Vertx.vertx();
  }

  @AfterEach
  void stop() throws Exception {
    if (gateway != null) {
      gateway.close();
    }
    Logger.getLogger("").removeHandler(capture);
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  static String shippedWith(boolean legacy) throws Exception {
    String shipped = Files.readString(Path.of("conf", "switchboard.yaml"));
    String line = "  legacy_tokens: true\n";
    assertNotEquals(-1, shipped.indexOf(line), "the shipped switchboard.yaml sets security.legacy_tokens: true");
    return shipped.replace(line, "  legacy_tokens: " + legacy + "\n");
  }

  long legacyWarnings() {
    return warnings.stream().filter(r -> AccessSettings.LEGACY_WARNING.equals(r.getMessage())).count();
  }

  HttpResponse<Buffer> tasks(String token) throws Exception {
    return WebClient.create(vertx).getAbs(gateway.url("/api/v1/tasks")).bearerTokenAuthentication(token).send()
        .await(10, TimeUnit.SECONDS);
  }

  @Test
  @DisplayName("true (shipped): start-up warns once, and a token without roles may use the API")
  void onWarnsOnceAndLetsThrough() throws Exception {
    gateway = TestGateway.builder().start();
    assertEquals(1, legacyWarnings());
    assertEquals(200, tasks(gateway.token("old")).statusCode());
  }

  @Test
  @DisplayName("false: no warning, a token without roles gets 403 telling to mint one with --role, one with roles works")
  void offRefusesTokensWithoutRoles() throws Exception {
    gateway = TestGateway.builder().file("switchboard.yaml", shippedWith(false)).start();
    assertEquals(0, legacyWarnings());
    HttpResponse<Buffer> refused = tasks(gateway.token("old"));
    assertEquals(403, refused.statusCode(), refused.bodyAsString());
    assertEquals(new JsonObject().put("error", new JsonObject()
            .put("message", "token has no roles (security.legacy_tokens is false): mint one with --role")
            .put("type", "permission_error").put("param", null).put("code", "forbidden")),
        refused.bodyAsJsonObject());
    String client = Tokens.issue(Tokens.auth(vertx, new JwtSecret(TestGateway.SECRET, "test")), "new", Duration.ofHours(1),
        new JsonObject().put("roles", new JsonArray().add("client")));
    assertEquals(200, tasks(client).statusCode());
  }

  @Test
  @DisplayName("a value that is not a boolean stops start-up with one line naming the key")
  void badValue() throws Exception {
    String yaml = shippedWith(true).replace("  legacy_tokens: true\n", "  legacy_tokens: maybe\n");
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> TestGateway.builder().file("switchboard.yaml", yaml).start());
    assertTrue(e.getMessage().contains("security.legacy_tokens"), e.getMessage());
  }
}
