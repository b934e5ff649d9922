package dev.switchboard.store;

import dev.switchboard.bus.Failure;
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
 *
 * <p>A full disk is nobody's bad request: work that fails for want of space fails with a 503
 * {@code storage_full} {@link Failure} naming the data dir, and {@link #ping()} reports it until a
 * write succeeds again. SQLite keeps the connection usable through it, so nothing needs reopening
 * once there is room.
 */
public final class EmbeddedStore {

  public static final String FILE = "switchboard.db";

  @FunctionalInterface
  public interface Work<T> {
    T apply(Connection connection) throws SQLException;
  }

  /** Below this much free space, a failed write is taken for a full disk. */
  public static final long NEARLY_FULL = 1 << 20;

  private final WorkerExecutor worker;
  private final Connection connection;
  private final Path dataDir;
  /** The last write failed for want of space, and none has succeeded since (store thread only). */
  private volatile boolean full;

  private EmbeddedStore(WorkerExecutor worker, Connection connection, Path dataDir) {
    this.worker = worker;
    this.connection = connection;
    this.dataDir = dataDir;
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
      return new EmbeddedStore(worker, c, dataDir);
    }, true).onFailure(e -> worker.close());
  }

  /** Runs {@code work} on the store's thread; statements from all callers run one at a time, in order. */
  public <T> Future<T> run(Work<T> work) {
    return worker.executeBlocking(() -> {
      try {
        T result = work.apply(connection);
        worked(dataDir);
        return result;
      } catch (SQLException e) {
        Failure f = storageFailure(dataDir, e);
        if (f != null) {
          full = true;
          throw f;
        }
        throw e;
      }
    }, true);
  }

  /** Runs {@code work} in one transaction. */
  public <T> Future<T> transaction(Work<T> work) {
    return run(c -> {
      c.setAutoCommit(false);
      Throwable failed = null;
      try {
        T result = work.apply(c);
        c.commit();
        full = false;
        return result;
      } catch (SQLException | RuntimeException e) {
        failed = e;
        // SQLite may have rolled back by itself (it does on a full disk): the first error is the one to report
        try {
          c.rollback();
        } catch (SQLException rollback) {
          e.addSuppressed(rollback);
        }
        throw e;
      } finally {
        try {
          c.setAutoCommit(true);
        } catch (SQLException e) {
          if (failed == null) {
            throw e;
          }
          failed.addSuppressed(e);
        }
      }
    });
  }

  /**
   * The 503 that a storage failure under {@code dir} means to a client, or null when {@code e} is
   * something else: {@code storage_full} when the disk is full (SQLite's SQLITE_FULL, an
   * {@code IOException} saying so, or any I/O error with next to no space left), and
   * {@code storage_error} with a short reason for another I/O error or a locked, read-only or broken
   * database file (the driver's own text is logged once instead). For the other stores of the
   * embedded profile too (the memory index), so that all of them say it the same way.
   */
  public static Failure storageFailure(Path dir, Throwable e) {
    boolean io = false;
    String reason = null;
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof Failure f) {
        return f.status() == 503 ? f : null;
      }
      if (t instanceof SQLException sql) {
        int primary = sql.getErrorCode() & 0xFF;
        if (primary == SQLITE_FULL) {
          return full(dir);
        }
        io |= primary == SQLITE_IOERR;
        if (reason == null) {
          reason = REASONS.get(primary);
        }
      }
      if (t instanceof java.io.IOException) {
        String m = String.valueOf(t.getMessage());
        if (m.contains("No space left") || m.contains("Disk quota exceeded") || m.contains("not enough space")) {
          return full(dir);
        }
        io = true;
      }
    }
    if (io && usableSpace(dir) < NEARLY_FULL) {
      return full(dir);
    }
    if (reason == null && io) {
      reason = "disk I/O error";
    }
    if (reason == null) {
      return null;
    }
    // the driver's text can quote SQL, keys and paths: it is for the operator's log, not for clients
    if (LOGGED.add(key(dir, reason))) {
      LOG.warning("the embedded store under " + dir.toAbsolutePath() + " failed (" + reason + "): " + e);
    }
    return Failure.unavailable("storage_error", "the embedded store failed: " + reason);
  }

  private static final int SQLITE_BUSY = 5;
  private static final int SQLITE_LOCKED = 6;
  private static final int SQLITE_READONLY = 8;
  private static final int SQLITE_IOERR = 10;
  private static final int SQLITE_CORRUPT = 11;
  private static final int SQLITE_FULL = 13;
  private static final int SQLITE_CANTOPEN = 14;
  private static final int SQLITE_NOTADB = 26;

  /** SQLite's primary result codes that mean the store, not the statement, is in trouble; as clients are told. */
  private static final java.util.Map<Integer, String> REASONS = java.util.Map.of(
      SQLITE_BUSY, "database is locked",
      SQLITE_LOCKED, "database is locked",
      SQLITE_READONLY, "the database file is read-only",
      SQLITE_IOERR, "disk I/O error",
      SQLITE_CORRUPT, "the database file is corrupt",
      SQLITE_CANTOPEN, "the database file cannot be opened",
      SQLITE_NOTADB, "the database file is not a database");

  private static final java.util.logging.Logger LOG = java.util.logging.Logger.getLogger(EmbeddedStore.class.getName());
  /**
   * The failures logged already, by folder and reason: each is logged once while it lasts, not once
   * per request, and again if it comes back after the store has worked.
   */
  private static final java.util.Set<String> LOGGED = java.util.concurrent.ConcurrentHashMap.newKeySet();

  private static String key(Path dir, String reason) {
    return dir.toAbsolutePath().normalize() + "|" + reason;
  }

  /** A statement under {@code dir} succeeded: failures logged there may be logged again when they recur. */
  private static void worked(Path dir) {
    if (!LOGGED.isEmpty()) {
      String prefix = dir.toAbsolutePath().normalize().toString();
      // this folder's failures and those of the stores inside it (the memory index)
      if (LOGGED.removeIf(k -> k.startsWith(prefix + "|") || k.startsWith(prefix + java.io.File.separator))) {
        LOG.info("the embedded store under " + dir.toAbsolutePath() + " works again");
      }
    }
  }

  private static Failure full(Path dir) {
    return Failure.unavailable("storage_full", "the disk holding " + dir.toAbsolutePath() + " is full");
  }

  /** Free bytes on the disk holding {@code dir} (or its nearest existing parent); unknown counts as plenty. */
  public static long usableSpace(Path dir) {
    for (Path p = dir.toAbsolutePath(); p != null; p = p.getParent()) {
      if (Files.exists(p)) {
        try {
          return Files.getFileStore(p).getUsableSpace();
        } catch (java.io.IOException e) {
          return Long.MAX_VALUE;
        }
      }
    }
    return Long.MAX_VALUE;
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

  /**
   * Whether the database answers. After a write failed for want of space, that takes a write: a
   * small one here, so that readiness comes back by itself as soon as there is room again.
   */
  public Future<Boolean> ping() {
    if (full) {
      return transaction(c -> {
        try (Statement s = c.createStatement()) {
          s.execute("CREATE TABLE IF NOT EXISTS store_probe (id INTEGER PRIMARY KEY, at INTEGER NOT NULL)");
          s.execute("INSERT OR REPLACE INTO store_probe (id, at) VALUES (1, " + System.currentTimeMillis() + ")");
        }
        return true;
      });
    }
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
