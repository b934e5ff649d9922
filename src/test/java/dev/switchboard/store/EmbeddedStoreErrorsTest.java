package dev.switchboard.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.bus.Failure;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sqlite.SQLiteErrorCode;
import org.sqlite.SQLiteException;

/**
 * A storage failure answered to a client says what failed in a few words; the driver's own message
 * (which may quote SQL and paths) goes to the log, once, at WARNING.
 */
@DisplayName("Embedded store failures as clients see them")
class EmbeddedStoreErrorsTest {

  final List<LogRecord> logged = Collections.synchronizedList(new ArrayList<>());
  final Handler capture = new Handler() {
    @Override
    public void publish(LogRecord record) {
      if (record.getLevel().intValue() >= Level.WARNING.intValue()) {
        logged.add(record);
      }
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
    }
  };
  final Logger log = Logger.getLogger(EmbeddedStore.class.getName());

  @BeforeEach
  void listen() {
    log.addHandler(capture);
  }

  @AfterEach
  void stopListening() {
    log.removeHandler(capture);
  }

  private List<String> messages() {
    List<String> out = new ArrayList<>();
    for (LogRecord r : logged) {
      out.add(r.getMessage() + (r.getThrown() == null ? "" : " " + r.getThrown().getMessage()));
    }
    return out;
  }

  @Test
  @DisplayName("a locked database answers 503 storage_error 'database is locked' without the driver's text, logged once")
  void lockedDatabase(@TempDir Path data) throws Exception {
    Vertx vertx = Vertx.vertx();
    try (Connection other = DriverManager.getConnection("jdbc:sqlite:" + data.resolve(EmbeddedStore.FILE))) {
      EmbeddedStore store = EmbeddedStore.open(vertx, data).await(10, TimeUnit.SECONDS);
      store.run(c -> {
        EmbeddedStore.execute(c, "CREATE TABLE t (id INTEGER)");
        return null;
      }).await(10, TimeUnit.SECONDS);
      try (Statement s = other.createStatement()) {
        s.execute("BEGIN EXCLUSIVE");
      }
      List<Throwable> failures = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        failures.add(store.run(c -> {
          // the store waits 5 s for a lock; this test need not
          EmbeddedStore.execute(c, "PRAGMA busy_timeout=50", "INSERT INTO t (id) VALUES (42)");
          return null;
        }).toCompletionStage().toCompletableFuture().handle((v, e) -> e).get(10, TimeUnit.SECONDS));
      }
      for (Throwable e : failures) {
        Failure f = assertInstanceOf(Failure.class, e, String.valueOf(e));
        assertEquals(503, f.status());
        assertEquals("storage_error", f.code());
        assertEquals("the embedded store failed: database is locked", f.getMessage());
      }
      assertEquals(1, logged.size(), String.join("\n", messages()));
      assertTrue(messages().get(0).contains("SQLITE_BUSY"), messages().get(0));
      try (Statement s = other.createStatement()) {
        s.execute("ROLLBACK");
      }
      store.close().await(10, TimeUnit.SECONDS);
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  @Test
  @DisplayName("an I/O error answers 'disk I/O error' and never the SQL the driver quotes; the driver's text is logged once")
  void ioErrorWithoutSql(@TempDir Path data) {
    SQLiteException e = new SQLiteException(
        "[SQLITE_IOERR_WRITE] disk I/O error (INSERT INTO claims (key, expires_at, value) VALUES ('hook:ci:sig', 1, 'x'))",
        SQLiteErrorCode.SQLITE_IOERR_WRITE);
    Failure first = EmbeddedStore.storageFailure(data, e);
    Failure second = EmbeddedStore.storageFailure(data, e);
    for (Failure f : List.of(first, second)) {
      assertEquals(503, f.status());
      assertEquals("storage_error", f.code());
      assertEquals("the embedded store failed: disk I/O error", f.getMessage());
    }
    assertEquals(1, logged.size(), String.join("\n", messages()));
    assertTrue(messages().get(0).contains("INSERT INTO claims"), messages().get(0));
  }
}
