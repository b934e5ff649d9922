package dev.switchboard.store;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The embedded profile's database: one SQLite file under the data dir. JDBC blocks, so every
 * statement runs on one dedicated worker thread, in submission order; event loops only see
 * futures. WAL with {@code synchronous=FULL} makes a commit durable before its future completes,
 * which is what lets the task API answer 202 only for work that survives a crash.
 */
public final class EmbeddedStore {

  public static final String FILE = "switchboard.db";

  @FunctionalInterface
  public interface Work<T> {
    T apply(Connection connection) throws SQLException;
  }

  private final WorkerExecutor worker;
  private final Connection connection;

  private EmbeddedStore(WorkerExecutor worker, Connection connection) {
    this.worker = worker;
    this.connection = connection;
  }

  public static Future<EmbeddedStore> open(Vertx vertx, Path dataDir) {
    WorkerExecutor worker = vertx.createSharedWorkerExecutor("switchboard-store", 1);
    return worker.executeBlocking(() -> {
      Files.createDirectories(dataDir);
      Connection c = DriverManager.getConnection("jdbc:sqlite:" + dataDir.resolve(FILE));
      try (Statement s = c.createStatement()) {
        s.execute("PRAGMA journal_mode=WAL");
        s.execute("PRAGMA synchronous=FULL");
        s.execute("PRAGMA busy_timeout=5000");
        s.execute("PRAGMA foreign_keys=ON");
      }
      return new EmbeddedStore(worker, c);
    }, true).onFailure(e -> worker.close());
  }

  /** Runs {@code work} on the store's thread; statements from all callers run one at a time, in order. */
  public <T> Future<T> run(Work<T> work) {
    return worker.executeBlocking(() -> work.apply(connection), true);
  }

  /** Runs {@code work} in one transaction. */
  public <T> Future<T> transaction(Work<T> work) {
    return run(c -> {
      c.setAutoCommit(false);
      try {
        T result = work.apply(c);
        c.commit();
        return result;
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      } finally {
        c.setAutoCommit(true);
      }
    });
  }

  /** Runs schema statements ({@code CREATE ... IF NOT EXISTS}) in order. */
  public static void execute(Connection c, String... statements) throws SQLException {
    try (Statement s = c.createStatement()) {
      for (String statement : statements) {
        s.execute(statement);
      }
    }
  }

  /**
   * Adds the columns a table lacks ({@code "name TYPE ..."} each): files written by an earlier
   * version get the columns that came later, and files that have them are left alone.
   */
  public static void ensureColumns(Connection c, String table, String... columns) throws SQLException {
    java.util.Set<String> present = new java.util.HashSet<>();
    try (Statement s = c.createStatement(); var rs = s.executeQuery("PRAGMA table_info(" + table + ")")) {
      while (rs.next()) {
        present.add(rs.getString("name"));
      }
    }
    for (String column : columns) {
      if (!present.contains(column.substring(0, column.indexOf(' ')))) {
        try (Statement s = c.createStatement()) {
          s.execute("ALTER TABLE " + table + " ADD COLUMN " + column);
        }
      }
    }
  }

  public Future<Boolean> ping() {
    return run(c -> {
      try (Statement s = c.createStatement()) {
        return s.executeQuery("SELECT 1").next();
      }
    });
  }

  /**
   * Closes the connection and gives back this store's hold on the shared worker. Idempotent: the
   * worker is shared by every store of the process, and a second close would take another's hold.
   */
  public Future<Void> close() {
    if (!closed.compareAndSet(false, true)) {
      return Future.succeededFuture();
    }
    return run(c -> {
      c.close();
      return null;
    }).<Void>mapEmpty().eventually(worker::close);
  }

  private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
}
