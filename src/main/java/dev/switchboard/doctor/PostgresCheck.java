package dev.switchboard.doctor;

import io.vertx.core.Vertx;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

/**
 * The distributed profile's PostgreSQL: it accepts the configured user, which version it is, the
 * {@code vector} extension, and the gateway's schema. The stores create the extension (when the
 * role may) and their tables on first start, so an empty database is fine; what is wrong is a
 * server without pgvector to install, or a schema that a newer gateway moved past this one.
 */
final class PostgresCheck {

  // the stores create their tables in the first schema of the search path: look there
  private static final String HAS_MIGRATIONS = "SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema()"
      + " AND tablename = 'switchboard_migrations')";
  private static final String APPLIED = "SELECT version FROM switchboard_migrations ORDER BY version";
  private static final String VECTOR = "SELECT extversion FROM pg_extension WHERE extname = 'vector'";
  private static final String VECTOR_AVAILABLE = "SELECT default_version FROM pg_available_extensions WHERE name = 'vector'";
  private static final String SUPERUSER = "SELECT rolsuper FROM pg_roles WHERE rolname = current_user";
  private static final String TABLE = "SELECT to_regclass(quote_ident(current_schema()) || '.' || $1) IS NOT NULL";

  /** The tables each first migration makes, so a recorded migration whose table was dropped is caught. */
  private static final List<String> MEMORY_TABLES = List.of("memories", "memory_history", "memory_meta");
  private static final List<String> AUDIT_TABLES = List.of("audit_log");

  private PostgresCheck() {
  }

  static List<Finding> check(Vertx vertx, String url, String where, long timeoutMs) {
    PgConnectOptions options;
    try {
      options = PgConnectOptions.fromUri(url);
    } catch (RuntimeException e) {
      // the parser's message quotes the whole URL, password included: name it redacted instead
      return List.of(Finding.fail("postgresql", "not a PostgreSQL URL: " + Where.redacted(url),
          "set " + where + " to postgresql://user:password@host:5432/database"));
    }
    String subject = "postgresql " + options.getHost() + ":" + options.getPort() + "/" + options.getDatabase();
    SqlClient c = PgBuilder.client()
        .with(new io.vertx.core.net.NetClientOptions().setConnectTimeout((int) timeoutMs))
        .with(new io.vertx.sqlclient.PoolOptions().setMaxSize(1).setConnectionTimeout((int) timeoutMs)
            .setConnectionTimeoutUnit(TimeUnit.MILLISECONDS))
        .connectingTo(options)
        .using(vertx)
        .build();
    try {
      String version;
      try {
        version = one(c, "SHOW server_version", timeoutMs).getString(0);
      } catch (Exception e) {
        return List.of(connectFailure(subject, e, where, options));
      }
      List<Finding> out = new ArrayList<>();
      out.add(Finding.ok(subject, "connected as " + options.getUser() + ", PostgreSQL " + version));
      out.add(vector(c, timeoutMs));
      out.add(schema(c, timeoutMs));
      return out;
    } catch (Exception e) {
      return List.of(Finding.fail(subject, "connected, but a query failed: " + Doctor.message(e),
          "check that " + options.getUser() + " may read the database's catalog"));
    } finally {
      c.close();
    }
  }

  private static Finding connectFailure(String subject, Exception e, String where, PgConnectOptions options) {
    String why = Doctor.message(e);
    if (e instanceof PgException pg && "28P01".equals(pg.getSqlState())) {
      return Finding.fail(subject, "password refused for " + options.getUser(), "put the right password in " + where);
    }
    if (e instanceof PgException pg && "3D000".equals(pg.getSqlState())) {
      return Finding.fail(subject, "database " + options.getDatabase() + " does not exist",
          "create it (createdb -O " + options.getUser() + " " + options.getDatabase() + "), or point " + where + " at another");
    }
    return Finding.fail(subject, "cannot connect: " + why, "start PostgreSQL there, or point " + where + " at the one to use");
  }

  private static Finding vector(SqlClient c, long timeoutMs) throws Exception {
    RowSet<Row> installed = c.query(VECTOR).execute().await(timeoutMs, TimeUnit.MILLISECONDS);
    if (installed.size() > 0) {
      return Finding.ok("pgvector", "extension vector " + installed.iterator().next().getString(0) + " installed");
    }
    RowSet<Row> available = c.query(VECTOR_AVAILABLE).execute().await(timeoutMs, TimeUnit.MILLISECONDS);
    if (available.size() == 0) {
      return Finding.fail("pgvector", "the server has no vector extension to install",
          "install pgvector on the database server (Debian: postgresql-15-pgvector; docker: the pgvector/pgvector image)");
    }
    String v = available.iterator().next().getString(0);
    if (Boolean.TRUE.equals(one(c, SUPERUSER, timeoutMs).getBoolean(0))) {
      return Finding.ok("pgvector", "vector " + v + " available, not installed: will be created on first start");
    }
    return Finding.warn("pgvector", "vector " + v + " available, not installed, and this role may not be allowed to create it",
        "run CREATE EXTENSION vector; as a superuser in this database before the first start");
  }

  private static Finding schema(SqlClient c, long timeoutMs) throws Exception {
    List<Integer> memory = dev.switchboard.memory.MemoryVerticle.postgresMigrations();
    List<Integer> audit = dev.switchboard.audit.PgAuditLog.migrations();
    if (!Boolean.TRUE.equals(one(c, HAS_MIGRATIONS, timeoutMs).getBoolean(0))) {
      return Finding.ok("schema", "no switchboard tables yet: will be created on first start");
    }
    TreeSet<Integer> applied = new TreeSet<>();
    for (Row r : c.query(APPLIED).execute().await(timeoutMs, TimeUnit.MILLISECONDS)) {
      applied.add(r.getInteger(0));
    }
    TreeSet<Integer> known = new TreeSet<>(memory);
    known.addAll(audit);
    TreeSet<Integer> unknown = new TreeSet<>(applied);
    unknown.removeAll(known);
    TreeSet<Integer> pending = new TreeSet<>(known);
    pending.removeAll(applied);
    List<String> lost = new ArrayList<>();
    if (applied.contains(memory.get(0))) {
      lost.addAll(missingTables(c, MEMORY_TABLES, timeoutMs));
    }
    if (applied.contains(audit.get(0))) {
      lost.addAll(missingTables(c, AUDIT_TABLES, timeoutMs));
    }
    if (!lost.isEmpty()) {
      return Finding.fail("schema", "migrations are recorded but table " + String.join(", ", lost) + " is missing",
          "restore the table from a backup, or (losing that data) delete its migration rows from switchboard_migrations");
    }
    String text = "migrations " + applied + " applied"
        + (pending.isEmpty() ? "" : "; " + pending + " will be applied on first start");
    if (!unknown.isEmpty()) {
      return Finding.warn("schema", text + "; " + unknown + " are unknown to this gateway (a newer one ran here)",
          "run the newest switchboard against this database, or give this one its own");
    }
    return Finding.ok("schema", text);
  }

  private static List<String> missingTables(SqlClient c, List<String> tables, long timeoutMs) throws Exception {
    List<String> missing = new ArrayList<>();
    for (String t : tables) {
      Row r = c.preparedQuery(TABLE).execute(Tuple.of(t)).await(timeoutMs, TimeUnit.MILLISECONDS).iterator().next();
      if (!Boolean.TRUE.equals(r.getBoolean(0))) {
        missing.add(t);
      }
    }
    return missing;
  }

  private static Row one(SqlClient c, String sql, long timeoutMs) throws Exception {
    return c.query(sql).execute().await(timeoutMs, TimeUnit.MILLISECONDS).iterator().next();
  }
}
