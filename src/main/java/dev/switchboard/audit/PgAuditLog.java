package dev.switchboard.audit;

import dev.switchboard.store.PostgresUrl;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClientOptions;
import io.vertx.pgclient.PgBuilder;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The distributed profile's audit log: table {@code audit_log} in PostgreSQL, in the order of
 * {@code seq}. Several instances append to one chain, so every append takes one transaction-scoped
 * advisory lock ({@link #CHAIN_LOCK}) before it reads the last record and chains after it: appends of
 * all instances are serialised by the database, and two cannot fork the chain (the primary key on
 * {@code seq} would refuse the second even without the lock). All SQL of this store is here.
 */
public final class PgAuditLog implements AuditLog {

  /** The schema lock of PgMemories: both create switchboard_migrations, so they must take the same one. */
  private static final long MIGRATION_LOCK = 0x5357_4D45_4D4F_5259L;
  /** Held by the one appending instance, for the length of its transaction. */
  private static final long CHAIN_LOCK = 0x5357_4155_4449_5431L;
  /**
   * Audit migrations are numbered from 1001 in the migrations table that PgMemories keeps (its own
   * count from 1), so neither store mistakes the other's for its own. Append only.
   */
  private static final int FIRST_VERSION = 1001;
  private static final String[][] MIGRATIONS = {
      {
          """
          CREATE TABLE audit_log (
            seq bigint PRIMARY KEY,
            id text NOT NULL UNIQUE,
            time_ms bigint NOT NULL,
            subject text NOT NULL,
            action text NOT NULL,
            record text NOT NULL)""",
          "CREATE INDEX audit_log_subject ON audit_log (subject, seq DESC)",
          "CREATE INDEX audit_log_action ON audit_log (action, seq DESC)",
      },
  };

  /** The migration numbers this store applies, for {@code doctor} to compare with a database's. */
  public static java.util.List<Integer> migrations() {
    return java.util.stream.IntStream.range(0, MIGRATIONS.length).mapToObj(i -> FIRST_VERSION + i).toList();
  }

  private static final String LOCK_SCHEMA = "SELECT pg_advisory_xact_lock(" + MIGRATION_LOCK + ")";
  private static final String LOCK_CHAIN = "SELECT pg_advisory_xact_lock(" + CHAIN_LOCK + ")";
  private static final String HAS_MIGRATIONS = "SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema()"
      + " AND tablename = 'switchboard_migrations')";
  private static final String CREATE_MIGRATIONS = """
      CREATE TABLE switchboard_migrations (
        version int PRIMARY KEY,
        applied_at timestamptz NOT NULL DEFAULT now())""";
  private static final String APPLIED = "SELECT 1 FROM switchboard_migrations WHERE version = $1";
  private static final String RECORD_MIGRATION = "INSERT INTO switchboard_migrations (version, applied_at) VALUES ($1, now())";

  private static final String KNOWN_IDS = "SELECT id FROM audit_log WHERE id = ANY($1)";
  private static final String LAST = "SELECT record FROM audit_log ORDER BY seq DESC LIMIT 1";
  private static final String INSERT = "INSERT INTO audit_log (seq, id, time_ms, subject, action, record) VALUES ($1, $2, $3, $4, $5, $6)";
  private static final String QUERY = "SELECT record FROM audit_log WHERE seq < $1 AND ($2::text IS NULL OR subject = $2)"
      + " AND ($3::text IS NULL OR action = $3) AND time_ms >= $4 ORDER BY seq DESC LIMIT $5";
  private static final String WALK = "SELECT seq, id, time_ms, subject, action, record FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2";
  private static final int WALK_PAGE = 1000;

  private final Pool pool;
  private final Vertx vertx;
  private Future<Void> schema;

  public PgAuditLog(Vertx vertx, String databaseUrl) {
    this.vertx = vertx;
    // a database that does not answer must fail an append fast (the spool takes over), not hold it
    this.pool = PgBuilder.pool()
        .with(new NetClientOptions().setConnectTimeout(5000).setTcpKeepAlive(true))
        .with(new PoolOptions().setMaxSize(2).setConnectionTimeout(5).setConnectionTimeoutUnit(TimeUnit.SECONDS))
        .connectingTo(PostgresUrl.options(databaseUrl))
        .using(vertx)
        .build();
  }

  /** The schema, made once per store; tried again on the next call when the database was not there. */
  private Future<Void> schema() {
    Future<Void> s = schema;
    if (s == null || s.failed()) {
      s = migrateAll();
      schema = s;
    }
    return s;
  }

  private Future<Void> migrateAll() {
    Future<Void> done = pool.withTransaction(c -> c.query(LOCK_SCHEMA).execute()
        .compose(v -> c.query(HAS_MIGRATIONS).execute())
        .compose(rows -> rows.iterator().next().getBoolean(0)
            ? Future.<Void>succeededFuture()
            : c.query(CREATE_MIGRATIONS).execute().<Void>mapEmpty()));
    for (int i = 0; i < MIGRATIONS.length; i++) {
      int version = FIRST_VERSION + i;
      String[] steps = MIGRATIONS[i];
      done = done.compose(v -> pool.withTransaction(c -> c.query(LOCK_SCHEMA).execute()
          .compose(x -> c.preparedQuery(APPLIED).execute(Tuple.of(version)))
          .compose(applied -> {
            if (applied.size() > 0) {
              return Future.<Void>succeededFuture();
            }
            Future<Void> step = Future.succeededFuture();
            for (String sql : steps) {
              step = step.compose(x -> c.query(sql).execute().mapEmpty());
            }
            return step.compose(x -> c.preparedQuery(RECORD_MIGRATION).execute(Tuple.of(version))).mapEmpty();
          })));
    }
    return done;
  }

  @Override
  public Future<List<AuditRecord>> append(List<AuditEvent> events) {
    if (events.isEmpty()) {
      return Future.succeededFuture(List.of());
    }
    String[] ids = events.stream().map(AuditEvent::id).toArray(String[]::new);
    return schema().compose(v -> pool.withTransaction(c -> c.query(LOCK_CHAIN).execute()
        .compose(x -> c.preparedQuery(KNOWN_IDS).execute(Tuple.of(ids)))
        .compose(known -> {
          Set<String> stored = new HashSet<>();
          known.forEach(r -> stored.add(r.getString(0)));
          return c.query(LAST).execute().compose(last -> insert(c, last.size() == 0 ? null : last.iterator().next(),
              events.stream().filter(e -> !stored.contains(e.id())).toList()));
        })));
  }

  private Future<List<AuditRecord>> insert(SqlConnection c, Row last, List<AuditEvent> events) {
    long seq = 0;
    String prev = AuditRecord.GENESIS;
    if (last != null) {
      AuditRecord r;
      try {
        r = AuditRecord.parse(last.getString(0));
      } catch (IllegalArgumentException e) {
        // chaining after a damaged record would hide the damage: the spool keeps the events meanwhile
        return Future.failedFuture(new IllegalStateException("the last audit record cannot be read (" + e.getMessage()
            + "); run 'audit verify' and repair audit_log before records can be appended"));
      }
      seq = r.seq();
      prev = r.hash();
    }
    if (events.isEmpty()) {
      return Future.succeededFuture(List.of());
    }
    long after = seq;
    String afterHash = prev;
    // writing and hashing take 1-2 µs a record, milliseconds for a spool's drain of 2,000: on a
    // worker, as the embedded log does, not on the event loop the proxy may share on one core
    return vertx.executeBlocking(() -> chain(after, afterHash, events), false)
        .compose(chained -> c.preparedQuery(INSERT).executeBatch(chained.rows()).map(done -> chained.records()));
  }

  private record Rows(List<AuditRecord> records, List<Tuple> rows) {
  }

  private static Rows chain(long seq, String prev, List<AuditEvent> events) {
    List<AuditRecord> records = new ArrayList<>(events.size());
    List<Tuple> rows = new ArrayList<>(events.size());
    AuditRecord.Batch chain = new AuditRecord.Batch(seq, prev);
    for (AuditEvent e : events) {
      AuditRecord.Chained chained = chain.next(e);
      AuditRecord r = chained.record();
      records.add(r);
      rows.add(Tuple.of(r.seq(), e.id(), e.time(), e.subject(), e.action(), chained.line()));
    }
    return new Rows(List.copyOf(records), rows);
  }

  @Override
  public Future<Page> query(Query q) {
    return schema().compose(v -> pool.preparedQuery(QUERY)
        .execute(Tuple.of(q.before(), q.subject(), q.action(), q.sinceMillis(), q.limit() + 1)))
        .map(rows -> {
          List<AuditRecord> data = new ArrayList<>();
          for (Row row : rows) {
            try {
              data.add(AuditRecord.parse(row.getString(0)));
            } catch (IllegalArgumentException damaged) {
              // verify names it; a listing shows what can be read
            }
          }
          long next = 0;
          if (data.size() > q.limit()) {
            data = data.subList(0, q.limit());
            next = data.get(data.size() - 1).seq();
          }
          return new Page(List.copyOf(data), next);
        });
  }

  @Override
  public Future<Verification> verify() {
    Walk walk = new Walk();
    return schema().compose(v -> walkFrom(walk, 0)).map(v -> walk.result());
  }

  /** One page after {@code after}, then the next, until the end or the first break. */
  private Future<Void> walkFrom(Walk walk, long after) {
    return pool.preparedQuery(WALK).execute(Tuple.of(after, WALK_PAGE)).compose(rows -> {
      for (Row row : rows) {
        String line = row.getString("record");
        if (!walk.accept(line)) {
          return Future.succeededFuture();
        }
        // listings filter by the columns: changed there, a record would hide from them with its line intact
        AuditEvent e = AuditRecord.parse(line).event();
        if (row.getLong("seq") != walk.seq() || !e.id().equals(row.getString("id")) || e.time() != row.getLong("time_ms")
            || !e.subject().equals(row.getString("subject")) || !e.action().equals(row.getString("action"))) {
          walk.reject("its columns (seq, id, time_ms, subject, action) differ from its record (changed after it was written)");
          return Future.succeededFuture();
        }
      }
      return rows.size() < WALK_PAGE ? Future.succeededFuture() : walkFrom(walk, walk.seq());
    });
  }

  @Override
  public Future<Void> close() {
    return pool.close();
  }
}
