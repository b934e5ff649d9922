package dev.switchboard.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.audit.PgAuditLog;
import io.vertx.core.Vertx;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("DATABASE_URL as the gateway reads it")
class PostgresUrlTest {

  static final String PASSWORD = "pg-s3cret-pw";
  static final String MALFORMED = "postgresql://switchboard:" + PASSWORD + "@127.0.0.1:notaport/switchboard";

  Vertx vertx;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
  }

  @AfterEach
  void stop() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  static void assertRefusedWithoutPassword(RuntimeException e) {
    String message = e.getMessage();
    assertTrue(message.contains("DATABASE_URL") && message.contains("storage.postgres"), message);
    assertTrue(message.contains("127.0.0.1:notaport/switchboard"), "says where it points: " + message);
    assertFalse(message.contains(PASSWORD), message);
    for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
      assertFalse(String.valueOf(c.getMessage()).contains(PASSWORD), "cause: " + c);
    }
  }

  @Test
  @DisplayName("a DATABASE_URL that does not parse is refused naming DATABASE_URL, without its password")
  void malformedRefusedWithoutPassword() {
    assertRefusedWithoutPassword(assertThrows(IllegalArgumentException.class, () -> PostgresUrl.options(MALFORMED)));
  }

  @Test
  @DisplayName("the audit log's store refuses a malformed DATABASE_URL without printing its password")
  void auditLogRefusesWithoutPassword() {
    assertRefusedWithoutPassword(assertThrows(RuntimeException.class, () -> new PgAuditLog(vertx, MALFORMED)));
  }

  @Test
  @DisplayName("a password holding '/', '?' or '@' is still cut out: everything up to the last '@', then any query")
  void awkwardPasswordsCut() {
    assertEquals("postgresql://db.example:5432/app", PostgresUrl.redacted("postgresql://app:pa/s?s@w@rd@db.example:5432/app?password=x"));
    assertEquals("db.example/app", PostgresUrl.redacted("app:secret@db.example/app"));
    assertEquals("postgresql://db.example/app", PostgresUrl.redacted("postgresql://db.example/app?password=secret"));
  }

  @Test
  @DisplayName("a well-formed DATABASE_URL reads as before")
  void wellFormedReads() {
    var options = PostgresUrl.options("postgresql://switchboard:pw@127.0.0.1:15432/switchboard");
    assertEquals(15432, options.getPort());
    assertEquals("switchboard", options.getDatabase());
    assertEquals("pw", options.getPassword());
  }
}
