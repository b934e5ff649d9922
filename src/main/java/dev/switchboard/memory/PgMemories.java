package dev.switchboard.memory;

import dev.switchboard.bus.Failure;
import dev.switchboard.store.PostgresUrl;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxException;
import io.vertx.core.http.ConnectionPoolTooBusyException;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.ClosedConnectionException;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.io.IOException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Long-term memory in PostgreSQL with pgvector (the distributed profile). All SQL of this store is
 * here. Several gateway instances share one database, so the schema moves forward by numbered
 * migrations, each applied once under an advisory lock.
 */
final class PgMemories implements LongTermStore {

  private static final Logger LOG = Logger.getLogger(PgMemories.class.getName());

  /** Serialises schema work of every instance on this database; any constant no one else uses. */
  private static final long MIGRATION_LOCK = 0x5357_4D45_4D4F_5259L;
  private static final String ACTIVE_HASH_INDEX = "memories_active_hash";
  private static final String HNSW_INDEX = "memories_embedding_hnsw";
  private static final Pattern WORD = Pattern.compile("[\\p{L}\\p{N}_]+");

  // relaxed_order: with a selective scope filter a plain HNSW scan stops at ef_search candidates and
  // may return fewer than n rows; iterative scans go on until n rows pass the filter.
  private static final String SESSION = "SET hnsw.iterative_scan = relaxed_order; SET hnsw.ef_search = 100";

  private static final String LOCK = "SELECT pg_advisory_xact_lock(" + MIGRATION_LOCK + ")";
  private static final String HAS_VECTOR = "SELECT 1 FROM pg_extension WHERE extname = 'vector'";
  // only when missing: a role without the right to create it may still use one a superuser created
  private static final String CREATE_VECTOR = "CREATE EXTENSION IF NOT EXISTS vector";
  // checked first rather than IF NOT EXISTS, which logs a notice on every start; in the schema the
  // store creates its tables in (the first of the search path), not anywhere on the path: another
  // store's tables further down it (public, say) are not this one's
  private static final String HAS_MIGRATIONS = "SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema()"
      + " AND tablename = 'switchboard_migrations')";
  private static final String CREATE_MIGRATIONS = """
      CREATE TABLE switchboard_migrations (
        version int PRIMARY KEY,
        applied_at timestamptz NOT NULL DEFAULT now())""";
  private static final String APPLIED = "SELECT 1 FROM switchboard_migrations WHERE version = $1";
  private static final String RECORD_MIGRATION = "INSERT INTO switchboard_migrations (version, applied_at) VALUES ($1, now())";

  /**
   * Migration n is MIGRATIONS[n - 1]; append only, never edit one that shipped. Steps go through
   * {@code String.format}: {@code %1$d} is the vector dimensions, a literal percent sign is {@code %%}.
   */
  private static final String[][] MIGRATIONS = {
      {
          """
          CREATE TABLE memories (
            id text PRIMARY KEY,
            scope text NOT NULL,
            content text NOT NULL,
            tokens text NOT NULL,
            tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', tokens)) STORED,
            hash text NOT NULL,
            source jsonb,
            status text NOT NULL CHECK (status IN ('active', 'superseded')),
            superseded_by text,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            expires_at timestamptz,
            embedding vector(%1$d))""",
          "CREATE INDEX memories_tsv ON memories USING gin (tsv)",
          // superseded copies may repeat a hash; two active ones may not, whoever writes them
          "CREATE UNIQUE INDEX " + ACTIVE_HASH_INDEX + " ON memories (scope, hash) WHERE status = 'active'",
          "CREATE INDEX memories_recent ON memories (scope, status, created_at DESC)",
          "CREATE INDEX memories_expiry ON memories (expires_at) WHERE expires_at IS NOT NULL",
          "CREATE INDEX " + HNSW_INDEX + " ON memories USING hnsw (embedding vector_cosine_ops)",
          """
          CREATE TABLE memory_history (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            memory_id text NOT NULL,
            event text NOT NULL,
            content text,
            at timestamptz NOT NULL)""",
          "CREATE INDEX memory_history_memory ON memory_history (memory_id, seq)",
          "CREATE TABLE memory_meta (key text PRIMARY KEY, value text NOT NULL)",
      },
      {
          // vectors stay in the row instead of TOAST: the planner then sees what an exact scan
          // really costs and takes the HNSW index for mid-sized scopes (measured at 10k: 25 ms
          // sequential against 2 ms by the index)
          "ALTER TABLE memories ALTER COLUMN embedding SET STORAGE MAIN",
      },
      {
          // a row with its vector is past the TOAST threshold, so the words moved out of the row and
          // keyword ranking read four TOAST pages per candidate; kept in the row they cost none (the
          // vector and the words fit a page many times over). Rows written from now on: older ones
          // keep theirs until rewritten (VACUUM FULL memories), searches find them the same
          "ALTER TABLE memories ALTER COLUMN tsv SET STORAGE MAIN",
      },
      {
          // the same held for every other text of a row: past the threshold, PostgreSQL moves out
          // each value longer than a TOAST pointer (the id and the hash too), so a search read five
          // TOAST values for every result, in the vector half and the keyword half alike. In the row
          // they cost nothing; a value too long for the page still moves out. Rows written from now
          // on; older ones keep theirs until rewritten (VACUUM FULL memories), searches find them the same
          "ALTER TABLE memories ALTER COLUMN id SET STORAGE MAIN, ALTER COLUMN scope SET STORAGE MAIN,"
              + " ALTER COLUMN content SET STORAGE MAIN, ALTER COLUMN tokens SET STORAGE MAIN,"
              + " ALTER COLUMN hash SET STORAGE MAIN, ALTER COLUMN source SET STORAGE MAIN,"
              + " ALTER COLUMN superseded_by SET STORAGE MAIN",
      },
  };

  /** The migration numbers this store applies. */
  static java.util.List<Integer> migrations() {
    return java.util.stream.IntStream.rangeClosed(1, MIGRATIONS.length).boxed().toList();
  }

  private static final String META = "SELECT key, value FROM memory_meta WHERE key IN ('embed_model', 'embed_dims')";
  // the column itself says which size it is, also when an older instance never recorded embed_dims
  private static final String COLUMN_DIMS = """
      SELECT atttypmod FROM pg_attribute WHERE attrelid = 'memories'::regclass AND attname = 'embedding'""";
  private static final String DROP_HNSW = "DROP INDEX IF EXISTS " + HNSW_INDEX;
  private static final String CLEAR_VECTORS = "UPDATE memories SET embedding = NULL WHERE embedding IS NOT NULL";
  private static final String RESIZE_VECTORS =
      "ALTER TABLE memories ALTER COLUMN embedding TYPE vector(%d) USING NULL, ALTER COLUMN embedding SET STORAGE MAIN";
  private static final String CREATE_HNSW = "CREATE INDEX " + HNSW_INDEX + " ON memories USING hnsw (embedding vector_cosine_ops)";
  private static final String RECORD_MODEL = """
      INSERT INTO memory_meta (key, value) VALUES ('embed_model', $1), ('embed_dims', $2)
      ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value""";
  private static final String COUNT_UNEMBEDDED = "SELECT count(*) FROM memories WHERE embedding IS NULL AND status = 'active'";

  private static final String COLUMNS = "id, scope, content, tokens, hash, source, status, superseded_by, created_at, updated_at, expires_at";
  private static final String BY_ID = "SELECT " + COLUMNS + " FROM memories WHERE id = $1";
  // expired but not yet purged still holds its hash, so it is answered here: an insert would collide with it
  private static final String BY_HASH = "SELECT " + COLUMNS + " FROM memories WHERE scope = $1 AND hash = $2 AND status = 'active'";
  private static final String NEAREST = "SELECT " + COLUMNS + ", embedding <=> $1::vector AS distance FROM memories"
      + " WHERE scope = $2 AND status = 'active' AND embedding IS NOT NULL AND (expires_at IS NULL OR expires_at > $3)"
      + " ORDER BY embedding <=> $1::vector LIMIT $4";
  /**
   * Ranking reads every matching row, and a common word matches most of a big scope: ranking is
   * done over at most {@link #KEYWORD_POOL} matches (all of them for the rare words that keyword
   * search is for; a sample for words that say little, where the vector half carries the search).
   * Rows are found by $2, the rarest of the query's words (see {@link #probe}), and ranked by $5,
   * all of them: a GIN index builds the whole bitmap of a word before any LIMIT applies, and the
   * planner turns a query of common words into a sequential scan, so a common word in the
   * condition costs its whole posting list (or the table) on every search. In rows written before
   * migration 4 the texts live in TOAST (four page reads each): only the $4 winners are read in full,
   * found again by their row address, which holds within one statement.
   */
  private static final String KEYWORD = "SELECT " + COLUMNS + ", r.rank FROM"
      + " (SELECT c.ctid AS at_row, c.id AS ranked_id, c.created_at AS ranked_at, ts_rank(c.tsv, to_tsquery('simple', $5))::float8 AS rank"
      + " FROM (SELECT ctid, id, tsv, created_at FROM memories"
      + " WHERE scope = $1 AND status = 'active' AND tsv @@ to_tsquery('simple', $2)"
      + " AND (expires_at IS NULL OR expires_at > $3) LIMIT " + PgMemories.KEYWORD_POOL + ") c"
      + " ORDER BY rank DESC, c.created_at DESC, c.id DESC LIMIT $4) r"
      + " JOIN memories m ON m.ctid = r.at_row"
      + " ORDER BY r.rank DESC, r.ranked_at DESC, r.ranked_id DESC";
  static final int KEYWORD_POOL = 100;
  /**
   * The planner's statistics of the words in the whole table (ANALYZE, so autovacuum keeps them):
   * for a tsvector column the frequencies are followed by their minimum, maximum and the share of
   * empty rows. Table-wide is what matters: a word's posting list covers every scope.
   */
  private static final String WORD_STATS = "SELECT s.most_common_elems::text::text[] AS words,"
      + " s.most_common_elem_freqs AS freqs, c.reltuples::float8 AS table_rows"
      + " FROM pg_class c LEFT JOIN pg_stats s ON s.schemaname = current_schema() AND s.tablename = 'memories'"
      + " AND s.attname = 'tsv' WHERE c.oid = 'memories'::regclass";
  /** Words matching fewer rows than this (estimated) all find rows together. */
  static final int PROBE_BUDGET = 1000;
  private static final long WORD_STATS_TTL_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
  private static final String INSERT = "INSERT INTO memories (" + COLUMNS + ", embedding)"
      + " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::vector)";
  private static final String UPDATE = """
      UPDATE memories SET content = $2, tokens = $3, hash = $4, source = $5, expires_at = $6, updated_at = $7,
                          embedding = $8::vector
      WHERE id = $1 AND status = 'active'""";
  private static final String SUPERSEDE = """
      UPDATE memories SET status = 'superseded', superseded_by = $2, updated_at = $3
      WHERE id = $1 AND status = 'active'""";
  private static final String ADD_HISTORY = "INSERT INTO memory_history (memory_id, event, content, at) VALUES ($1, $2, $3, $4)";
  private static final String HISTORY = "SELECT memory_id, event, content, at FROM memory_history WHERE memory_id = $1 ORDER BY seq";
  // $3 (now) is null for superseded listings: an old version is shown whether or not it expired
  private static final String LIST = "SELECT " + COLUMNS + " FROM memories"
      + " WHERE scope = $1 AND status = $2 AND ($3::timestamptz IS NULL OR expires_at IS NULL OR expires_at > $3)"
      + " AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5::text))"
      + " ORDER BY created_at DESC, id DESC LIMIT $6";
  private static final String DELETE_HISTORY = "DELETE FROM memory_history WHERE memory_id = $1";
  private static final String DELETE = "DELETE FROM memories WHERE id = $1";
  private static final String PURGE = """
      WITH gone AS (DELETE FROM memories WHERE expires_at <= $1 RETURNING id),
           lines AS (DELETE FROM memory_history WHERE memory_id IN (SELECT id FROM gone))
      SELECT count(*) FROM gone""";
  private static final String UNEMBEDDED = "SELECT " + COLUMNS + " FROM memories"
      + " WHERE embedding IS NULL AND status = 'active' ORDER BY created_at, id LIMIT $1";
  private static final String EMBED = "UPDATE memories SET embedding = $2::vector WHERE id = $1";
  private static final String PING = "SELECT 1";

  private static final long QUERY_TIMEOUT_SECONDS = 20;

  private final Pool pool;
  private volatile WordStats wordStats = new WordStats(Map.of(), System.nanoTime() - WORD_STATS_TTL_NANOS - 1);
  private final AtomicBoolean refreshingStats = new AtomicBoolean();

  PgMemories(Vertx vertx, String databaseUrl) {
    // a database that does not answer must fail fast and clearly, not hold callers for minutes
    // a statement prepared anew costs a round trip of its own before every execution, so they are
    // kept prepared per connection, but still planned for their values (force_custom_plan), as
    // unnamed ones are: a generic plan knows neither the scope nor the LIMIT, and may scan the table
    // instead of the HNSW index. Sent with the connection's start-up, not with SESSION: a SET that
    // fails there (pgvector before 0.8 has no iterative_scan) would take this one with it
    PgConnectOptions options = PostgresUrl.options(databaseUrl).setCachePreparedStatements(true)
        .addProperty("plan_cache_mode", "force_custom_plan");
    this.pool = PgBuilder.pool()
        .with(new io.vertx.core.net.NetClientOptions().setConnectTimeout(5000).setTcpKeepAlive(true))
        .with(new PoolOptions().setMaxSize(8).setConnectionTimeout(5).setConnectionTimeoutUnit(java.util.concurrent.TimeUnit.SECONDS)
            .setMaxWaitQueueSize(1024))
        .connectingTo(options)
        .using(vertx)
        .withConnectHandler(PgMemories::prepareSession)
        .build();
  }


  /** The builder's contract: the connection joins the pool only once this closes it. */
  private static void prepareSession(SqlConnection connection) {
    connection.query(SESSION).execute().onComplete(ar -> {
      if (ar.failed()) {
        LOG.log(Level.WARNING, "could not enable iterative HNSW scans; filtered vector searches may return fewer rows", ar.cause());
      }
      connection.close();
    });
  }

  @Override
  public Future<Long> open(String model, int dimensions) {
    if (dimensions < 1) {
      return Future.failedFuture(new IllegalArgumentException("embedding dimensions must be positive: " + dimensions));
    }
    Future<Void> schema = pool.withTransaction(c -> lock(c)
        .compose(v -> ensureVector(c))
        .compose(v -> c.query(HAS_MIGRATIONS).execute())
        .compose(rows -> rows.iterator().next().getBoolean(0)
            ? Future.<Void>succeededFuture()
            : c.query(CREATE_MIGRATIONS).execute().<Void>mapEmpty()));
    for (int i = 0; i < MIGRATIONS.length; i++) {
      int version = i + 1;
      String[] steps = MIGRATIONS[i];
      schema = schema.compose(v -> migrate(version, steps, dimensions));
    }
    return translated(schema
        .compose(v -> pool.withTransaction(c -> lock(c).compose(x -> adoptModel(c, model, dimensions))))
        .compose(v -> loadWordStats())
        .compose(v -> pool.query(COUNT_UNEMBEDDED).execute())
        .map(rows -> rows.iterator().next().getLong(0)));
  }

  private static Future<Void> lock(SqlConnection c) {
    return c.query(LOCK).execute().mapEmpty();
  }

  private static Future<Void> ensureVector(SqlConnection c) {
    return c.query(HAS_VECTOR).execute().compose(rows -> {
      if (rows.size() > 0) {
        return Future.succeededFuture();
      }
      return c.query(CREATE_VECTOR).execute().<Void>mapEmpty().recover(t -> {
        if (t instanceof PgException e) {
          return Future.failedFuture(Failure.unavailable("memory_unavailable",
              "PostgreSQL lacks the pgvector extension and this role may not create it (" + e.getErrorMessage()
                  + "): run CREATE EXTENSION vector; as a superuser in this database"));
        }
        return Future.failedFuture(t);
      });
    });
  }

  /**
   * How long a migration waits for the table locks its steps take (an ALTER TABLE waits for every
   * transaction that uses the table): past it, start-up fails saying so, instead of waiting behind
   * an idle transaction or a dump with every query of every gateway queued behind it.
   */
  static final String MIGRATION_LOCK_TIMEOUT = "10s";
  private static final String SET_LOCK_TIMEOUT = "SET LOCAL lock_timeout = '" + MIGRATION_LOCK_TIMEOUT + "'";

  private Future<Void> migrate(int version, String[] steps, int dimensions) {
    return pool.withTransaction(c -> lock(c)
        .compose(v -> c.preparedQuery(APPLIED).execute(Tuple.of(version)))
        .compose(applied -> {
          if (applied.size() > 0) {
            return Future.succeededFuture();
          }
          Future<Void> done = c.query(SET_LOCK_TIMEOUT).execute().mapEmpty();
          for (String step : steps) {
            String sql = String.format(Locale.ROOT, step, dimensions);
            done = done.compose(v -> c.query(sql).execute().mapEmpty());
          }
          return done.compose(v -> c.preparedQuery(RECORD_MIGRATION).execute(Tuple.of(version))).<Void>mapEmpty()
              .recover(e -> Future.failedFuture(e instanceof PgException pg && "55P03".equals(pg.getSqlState())
                  ? new IllegalStateException("memory store migration " + version + " could not lock its table within "
                      + MIGRATION_LOCK_TIMEOUT + ": another transaction holds it (see pg_stat_activity: an idle"
                      + " transaction, a dump, a VACUUM FULL); start again once it has ended")
                  : e));
        }));
  }

  /** Vectors of two models are not comparable: a new model starts over with none. */
  private static Future<Void> adoptModel(SqlConnection c, String model, int dimensions) {
    return c.query(META).execute().compose(meta -> c.query(COLUMN_DIMS).execute().compose(column -> {
      String recorded = null;
      for (Row r : meta) {
        if ("embed_model".equals(r.getString("key"))) {
          recorded = r.getString("value");
        }
      }
      int columnDims = column.iterator().next().getInteger(0);
      boolean sameModel = model.equals(recorded);
      boolean sameDims = columnDims == dimensions;
      if (sameModel && sameDims) {
        return Future.succeededFuture();
      }
      Tuple record = Tuple.of(model, Integer.toString(dimensions));
      if (recorded == null && sameDims) {
        // a new table: nothing was embedded by any other model yet
        return c.preparedQuery(RECORD_MODEL).execute(record).mapEmpty();
      }
      String reset = sameDims ? CLEAR_VECTORS : String.format(Locale.ROOT, RESIZE_VECTORS, dimensions);
      return c.query(DROP_HNSW).execute()
          .compose(v -> c.query(reset).execute())
          .compose(v -> c.query(CREATE_HNSW).execute())
          .compose(v -> c.preparedQuery(RECORD_MODEL).execute(record))
          .mapEmpty();
    }));
  }

  @Override
  public Future<Memory> byHash(String scope, String hash) {
    return guard(pool.preparedQuery(BY_HASH).execute(Tuple.of(scope, hash)).map(PgMemories::first));
  }

  @Override
  public Future<Memory> byId(String id) {
    return guard(pool.preparedQuery(BY_ID).execute(Tuple.of(id)).map(PgMemories::first));
  }

  @Override
  public Future<List<Hit>> nearest(String scope, float[] vector, int n, Instant now) {
    if (n <= 0 || vector == null) {
      return Future.succeededFuture(List.of());
    }
    return guard(pool.preparedQuery(NEAREST).execute(Tuple.of(literal(vector), scope, time(now), n)).map(rows -> {
      List<Hit> hits = new ArrayList<>(rows.size());
      for (Row r : rows) {
        hits.add(new Hit(memory(r), 1 - r.getDouble("distance"), 0));
      }
      // iterative scans trade exact order for complete results
      hits.sort(Comparator.comparingDouble(Hit::similarity).reversed());
      return hits;
    }));
  }

  @Override
  public Future<List<Hit>> keyword(String scope, List<String> tokens, int n, Instant now) {
    List<String> words = words(tokens);
    if (n <= 0 || words.isEmpty()) {
      return Future.succeededFuture(List.of());
    }
    String probe = tsquery(probe(words, wordRows()));
    Tuple args = Tuple.of(scope, probe, time(now), n, tsquery(words));
    return guard(pool.preparedQuery(KEYWORD).execute(args).map(rows -> {
      List<Hit> hits = new ArrayList<>(rows.size());
      for (Row r : rows) {
        hits.add(new Hit(memory(r), 0, r.getDouble("rank")));
      }
      return hits;
    }));
  }

  /**
   * Any of the words: {@code 'a' | 'b'}. Only plain words get through, so nothing in a query can
   * be read as tsquery syntax.
   */
  static String tsquery(List<String> tokens) {
    return words(tokens).stream().map(w -> "'" + w + "'").collect(Collectors.joining(" | "));
  }

  /** The distinct plain words of a query, lower-cased as the index holds them. */
  private static List<String> words(List<String> tokens) {
    if (tokens == null) {
      return List.of();
    }
    Set<String> words = new LinkedHashSet<>();
    for (String t : tokens) {
      if (t != null && WORD.matcher(t).matches()) {
        words.add(t.toLowerCase(Locale.ROOT));
      }
    }
    return List.copyOf(words);
  }

  /**
   * The words that find the rows, rarest first: together they are expected to match at most
   * {@link #PROBE_BUDGET} rows, and there is always at least one. A rare word's memories are then
   * all ranked instead of being lost in a sample of a common word's; a word the statistics do not
   * list is rarer than any they do. Without statistics (a new table) every word finds rows.
   */
  static List<String> probe(List<String> words, Map<String, Double> rowsOf) {
    List<String> byRarity = new ArrayList<>(words);
    byRarity.sort(Comparator.comparingDouble(w -> rowsOf.getOrDefault(w, 0.0)));
    List<String> probe = new ArrayList<>();
    double expected = 0;
    for (String w : byRarity) {
      expected += rowsOf.getOrDefault(w, 0.0);
      if (!probe.isEmpty() && expected > PROBE_BUDGET) {
        break;
      }
      probe.add(w);
    }
    return probe;
  }

  /** The estimated rows of each frequent word, refreshed in the background once they are a minute old. */
  private Map<String, Double> wordRows() {
    WordStats current = wordStats;
    if (System.nanoTime() - current.fetchedAt() > WORD_STATS_TTL_NANOS && refreshingStats.compareAndSet(false, true)) {
      loadWordStats().onComplete(ar -> refreshingStats.set(false));
    }
    return current.rowsOf();
  }

  /** Never fails: without statistics a search only costs more. */
  private Future<Void> loadWordStats() {
    return pool.query(WORD_STATS).execute().<Void>map(rows -> {
      wordStats = WordStats.of(rows.iterator().next(), System.nanoTime());
      return null;
    }).recover(t -> {
      LOG.log(Level.FINE, "could not read the word statistics of memories", t);
      wordStats = new WordStats(wordStats.rowsOf(), System.nanoTime());
      return Future.succeededFuture();
    });
  }

  /** Estimated rows per frequent word of the table, as of {@code fetchedAt} ({@link System#nanoTime()}). */
  record WordStats(Map<String, Double> rowsOf, long fetchedAt) {
    static WordStats of(Row r, long fetchedAt) {
      String[] words = r.getArrayOfStrings("words");
      Float[] freqs = r.getArrayOfFloats("freqs");
      Double rows = r.getDouble("table_rows");
      Map<String, Double> rowsOf = new HashMap<>();
      if (words != null && freqs != null && rows != null && rows > 0) {
        for (int i = 0; i < words.length && i < freqs.length; i++) {
          rowsOf.put(words[i], freqs[i] * rows);
        }
      }
      return new WordStats(Map.copyOf(rowsOf), fetchedAt);
    }
  }

  @Override
  public Future<Void> insert(Memory memory, float[] vector, HistoryEntry history) {
    return guard(pool.withTransaction(c -> c.preparedQuery(INSERT).execute(row(memory, vector))
        .compose(v -> addHistory(c, history == null ? List.of() : List.of(history)))));
  }

  @Override
  public Future<Void> update(Memory memory, float[] vector, HistoryEntry history) {
    Tuple args = Tuple.tuple()
        .addValue(memory.id())
        .addValue(memory.content())
        .addValue(tokens(memory))
        .addValue(memory.hash())
        .addValue(memory.source())
        .addValue(time(memory.expiresAt()))
        .addValue(time(memory.updatedAt()))
        .addValue(literal(vector));
    return guard(pool.withTransaction(c -> c.preparedQuery(UPDATE).execute(args)
        .compose(rows -> rows.rowCount() == 0 ? Future.failedFuture(notActive(memory.id())) : Future.succeededFuture())
        .compose(v -> addHistory(c, history == null ? List.of() : List.of(history)))));
  }

  @Override
  public Future<Void> supersede(String oldId, Memory replacement, float[] vector, List<HistoryEntry> history) {
    Tuple old = Tuple.of(oldId, replacement.id(), time(replacement.createdAt()));
    // the old one steps down first: the replacement may carry the same hash
    return guard(pool.withTransaction(c -> c.preparedQuery(SUPERSEDE).execute(old)
        .compose(rows -> rows.rowCount() == 0 ? Future.failedFuture(notActive(oldId)) : Future.succeededFuture())
        .compose(v -> c.preparedQuery(INSERT).execute(row(replacement, vector)))
        .compose(v -> addHistory(c, history == null ? List.of() : history))));
  }

  /** Another writer superseded or deleted it first. */
  private static Failure notActive(String id) {
    return Failure.notFound("memory_not_found", "no active memory " + id);
  }

  private static Future<Void> addHistory(SqlConnection c, List<HistoryEntry> entries) {
    if (entries.isEmpty()) {
      return Future.succeededFuture();
    }
    List<Tuple> batch = new ArrayList<>(entries.size());
    for (HistoryEntry e : entries) {
      batch.add(Tuple.of(e.memoryId(), e.event(), e.content(), time(e.at())));
    }
    return c.preparedQuery(ADD_HISTORY).executeBatch(batch).mapEmpty();
  }

  @Override
  public Future<List<Memory>> list(String scope, Memory.Status status, int limit, Position after, Instant now) {
    Memory.Status wanted = status == null ? Memory.Status.ACTIVE : status;
    OffsetDateTime unexpiredAt = wanted == Memory.Status.ACTIVE ? time(now) : null;
    if (limit <= 0) {
      return Future.succeededFuture(List.of());
    }
    return guard(after == null ? page(scope, wanted, unexpiredAt, null, null, limit)
        : page(scope, wanted, unexpiredAt, time(after.createdAt()), after.id(), limit));
  }

  private Future<List<Memory>> page(String scope, Memory.Status status, OffsetDateTime unexpiredAt, OffsetDateTime afterAt,
                                    String afterId, int limit) {
    return pool.preparedQuery(LIST).execute(Tuple.of(scope, status.wire(), unexpiredAt, afterAt, afterId, limit))
        .map(PgMemories::all);
  }

  @Override
  public Future<List<HistoryEntry>> history(String id) {
    return guard(pool.preparedQuery(HISTORY).execute(Tuple.of(id)).map(rows -> {
      List<HistoryEntry> out = new ArrayList<>(rows.size());
      for (Row r : rows) {
        out.add(new HistoryEntry(r.getString("memory_id"), r.getString("event"), r.getString("content"),
            instant(r.getOffsetDateTime("at"))));
      }
      return out;
    }));
  }

  @Override
  public Future<Boolean> delete(String id) {
    return guard(pool.withTransaction(c -> c.preparedQuery(DELETE_HISTORY).execute(Tuple.of(id))
        .compose(v -> c.preparedQuery(DELETE).execute(Tuple.of(id)))
        .map(rows -> rows.rowCount() > 0)));
  }

  @Override
  public Future<List<Memory>> unembedded(int limit) {
    if (limit <= 0) {
      return Future.succeededFuture(List.of());
    }
    return guard(pool.preparedQuery(UNEMBEDDED).execute(Tuple.of(limit)).map(PgMemories::all));
  }

  @Override
  public Future<Void> embed(String id, float[] vector) {
    return guard(pool.preparedQuery(EMBED).execute(Tuple.of(id, literal(vector))).mapEmpty());
  }

  @Override
  public Future<Integer> purgeExpired(Instant before) {
    return guard(pool.preparedQuery(PURGE).execute(Tuple.of(time(before)))
        .map(rows -> rows.iterator().next().getLong(0).intValue()));
  }

  @Override
  public Future<Void> ping() {
    return guard(pool.query(PING).execute().mapEmpty());
  }

  @Override
  public Future<Void> close() {
    return pool.close();
  }

  private static Tuple row(Memory m, float[] vector) {
    return Tuple.tuple()
        .addValue(m.id())
        .addValue(m.scope())
        .addValue(m.content())
        .addValue(tokens(m))
        .addValue(m.hash())
        .addValue(m.source())
        .addValue((m.status() == null ? Memory.Status.ACTIVE : m.status()).wire())
        .addValue(m.supersededBy())
        .addValue(time(m.createdAt()))
        .addValue(time(m.updatedAt()))
        .addValue(time(m.expiresAt()))
        .addValue(literal(vector));
  }

  private static String tokens(Memory m) {
    return m.tokens() == null ? "" : m.tokens();
  }

  private static Memory first(RowSet<Row> rows) {
    return rows.size() == 0 ? null : memory(rows.iterator().next());
  }

  private static List<Memory> all(RowSet<Row> rows) {
    List<Memory> out = new ArrayList<>(rows.size());
    for (Row r : rows) {
      out.add(memory(r));
    }
    return out;
  }

  private static Memory memory(Row r) {
    return new Memory(
        r.getString("id"),
        r.getString("scope"),
        r.getString("content"),
        r.getString("tokens"),
        r.getString("hash"),
        r.getJsonObject("source"),
        Memory.Status.of(r.getString("status")),
        r.getString("superseded_by"),
        instant(r.getOffsetDateTime("created_at")),
        instant(r.getOffsetDateTime("updated_at")),
        instant(r.getOffsetDateTime("expires_at")));
  }

  /** pgvector's text form, bound as text and cast by the query: the client has no codec for the type. */
  static String literal(float[] vector) {
    if (vector == null) {
      return null;
    }
    StringBuilder sb = new StringBuilder(vector.length * 12).append('[');
    for (int i = 0; i < vector.length; i++) {
      if (i > 0) {
        sb.append(',');
      }
      sb.append(vector[i]);
    }
    return sb.append(']').toString();
  }

  private static OffsetDateTime time(Instant instant) {
    return instant == null ? null : OffsetDateTime.ofInstant(instant, ZoneOffset.UTC);
  }

  private static Instant instant(OffsetDateTime time) {
    return time == null ? null : time.toInstant();
  }

  /** Reads and writes of single memories and searches: a few milliseconds normally, 20 s at the most. */
  private static <T> Future<T> guard(Future<T> future) {
    return translated(future.timeout(QUERY_TIMEOUT_SECONDS, java.util.concurrent.TimeUnit.SECONDS));
  }

  /** Migrations and index builds may take long on a big table: no deadline. */
  private static <T> Future<T> translated(Future<T> future) {
    return future.recover(t -> Future.failedFuture(translate(t)));
  }

  /**
   * The interface's errors: a lost race on the active hash is {@link DuplicateContent}, a database
   * that cannot be reached or will not serve is a 503. Other SQL errors are bugs here and stay as they are.
   */
  static Throwable translate(Throwable t) {
    if (t instanceof PgException e) {
      if ("23505".equals(e.getSqlState()) && ACTIVE_HASH_INDEX.equals(e.getConstraint())) {
        return new DuplicateContent();
      }
      if ("53100".equals(e.getSqlState())) { // disk_full: the same answer as the embedded store's
        return Failure.unavailable("storage_full", "the disk holding PostgreSQL's data is full: " + e.getErrorMessage());
      }
      return refusing(e.getSqlState()) ? unavailable(e.getErrorMessage()) : t;
    }
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (unreachable(c)) {
        return unavailable(c.getMessage() == null ? c.getClass().getSimpleName() : c.getMessage());
      }
    }
    return t;
  }

  /** Connection trouble, too many connections, shutting down, cancelled or timed out, refused login or database. */
  private static boolean refusing(String state) {
    return state != null && (state.startsWith("08") || state.startsWith("53") || state.startsWith("57P")
        || state.equals("57014") || state.startsWith("28") || state.equals("3D000"));
  }

  private static boolean unreachable(Throwable t) {
    if (t instanceof IOException || t instanceof TimeoutException || t instanceof ClosedConnectionException
        || t instanceof ConnectionPoolTooBusyException) {
      return true;
    }
    // the pool reports a connection wait timeout and requests lost with their connection as bare
    // VertxExceptions; bare ones also report our own bad arguments, so only these two messages count
    String message = t.getMessage();
    return t.getClass() == VertxException.class && message != null
        && (message.startsWith("Timeout waiting for connection") || message.contains("connection has been closed"));
  }

  private static Failure unavailable(String cause) {
    return Failure.unavailable("memory_unavailable", "PostgreSQL is unavailable: " + cause);
  }
}
