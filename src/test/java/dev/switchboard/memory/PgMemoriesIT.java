package dev.switchboard.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.bus.Failure;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * {@link PgMemories} against the PostgreSQL with pgvector in env {@code DATABASE_URL} (started by
 * {@code scripts/test.sh}). Fails, never skips, when it is not set. Every test gets a schema of its
 * own (first on the search path, pgvector stays in {@code public}), so migrations start from
 * nothing and runs repeat.
 */
@DisplayName("Long-term memory in PostgreSQL + pgvector")
class PgMemoriesIT {

  static final int DIMS = 4;
  static final String RUN = UUID.randomUUID().toString().substring(0, 8);

  static Vertx vertx;
  static String databaseUrl;
  static Pool admin;

  String schema;
  String url;
  PgMemories store;
  final List<PgMemories> extra = new ArrayList<>();
  final Instant t0 = Instant.now().truncatedTo(ChronoUnit.SECONDS);

  @BeforeAll
  static void connect() {
    databaseUrl = System.getenv("DATABASE_URL");
    assertTrue(databaseUrl != null && !databaseUrl.isBlank(),
        "DATABASE_URL is not set: these tests need PostgreSQL with pgvector (scripts/test.sh starts one)");
    vertx = Vertx.vertx();
    admin = PgBuilder.pool().with(new PoolOptions().setMaxSize(1))
        .connectingTo(PgConnectOptions.fromUri(databaseUrl)).using(vertx).build();
  }

  @AfterAll
  static void disconnect() throws Exception {
    if (admin != null) {
      admin.close().await(10, TimeUnit.SECONDS);
    }
    if (vertx != null) {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  @BeforeEach
  void freshSchema() throws Exception {
    schema = "pgmem_it_" + RUN + "_" + UUID.randomUUID().toString().substring(0, 8);
    sql("CREATE SCHEMA " + schema);
    url = databaseUrl + (databaseUrl.contains("?") ? "&" : "?") + "search_path=" + schema + ",public";
    store = new PgMemories(vertx, url);
  }

  @AfterEach
  void dropSchema() throws Exception {
    for (PgMemories s : extra) {
      s.close().await(10, TimeUnit.SECONDS);
    }
    if (store != null) {
      store.close().await(10, TimeUnit.SECONDS);
    }
    if (schema != null) {
      sql("DROP SCHEMA " + schema + " CASCADE");
    }
  }

  @Test
  @DisplayName("opening twice applies each migration once and keeps the data")
  void migrationsAreIdempotent() throws Exception {
    assertEquals(0L, await(store.open("m1", DIMS)));
    await(store.insert(memory("a", scope("u"), "tea", "tea", t0, null), vec(1, 0, 0, 0), null));
    assertEquals(0L, await(store.open("m1", DIMS)));

    assertEquals(List.of(1, 2, 3, 4), versions(), "each migration applied once");
    assertEquals("m", sql("SELECT attstorage FROM pg_attribute WHERE attrelid = '" + schema
        + ".memories'::regclass AND attname = 'embedding'").iterator().next().getValue(0).toString(),
        "vectors are kept in the row (migration 2)");
    assertEquals("m", sql("SELECT attstorage FROM pg_attribute WHERE attrelid = '" + schema
        + ".memories'::regclass AND attname = 'tsv'").iterator().next().getValue(0).toString(),
        "the words are kept in the row (migration 3)");
    java.util.List<String> texts = new java.util.ArrayList<>();
    sql("SELECT attname || '=' || attstorage::text FROM pg_attribute WHERE attrelid = '" + schema + ".memories'::regclass"
        + " AND attname IN ('id', 'scope', 'content', 'tokens', 'hash', 'source', 'superseded_by') ORDER BY attnum")
        .forEach(r -> texts.add(r.getString(0)));
    assertEquals(List.of("id=m", "scope=m", "content=m", "tokens=m", "hash=m", "source=m", "superseded_by=m"), texts,
        "the texts are kept in the row (migration 4)");
    assertNotNull(await(store.byId("a")));
    Row meta = sql("SELECT (SELECT value FROM " + schema + ".memory_meta WHERE key = 'embed_model') AS model,"
        + " (SELECT value FROM " + schema + ".memory_meta WHERE key = 'embed_dims') AS dims").iterator().next();
    assertEquals("m1", meta.getString("model"));
    assertEquals("4", meta.getString("dims"));
  }

  @Test
  @DisplayName("a migration that cannot lock its table (a transaction holds it) fails start-up saying so, and applies later")
  void aMigrationBehindALongTransactionFailsClearly() throws Exception {
    assertEquals(0L, await(store.open("m1", DIMS)));
    sql("DELETE FROM " + schema + ".switchboard_migrations WHERE version = 4");
    PgMemories upgraded = new PgMemories(vertx, url);
    extra.add(upgraded);
    // a second connection, inside a transaction that uses the table and does not end
    io.vertx.sqlclient.SqlConnection holder = io.vertx.pgclient.PgConnection.connect(vertx, PgConnectOptions.fromUri(databaseUrl))
        .await(20, TimeUnit.SECONDS);
    try {
      io.vertx.sqlclient.Transaction tx = holder.begin().await(20, TimeUnit.SECONDS);
      holder.query("SELECT count(*) FROM " + schema + ".memories").execute().await(20, TimeUnit.SECONDS);
      Throwable e = failure(upgraded.open("m1", DIMS));
      assertTrue(e.getMessage().contains("migration 4 could not lock its table within 10s"), e.getMessage());
      assertEquals(List.of(1, 2, 3), versions(), "nothing half-applied");
      tx.rollback().await(20, TimeUnit.SECONDS);
    } finally {
      holder.close().await(20, TimeUnit.SECONDS);
    }
    assertEquals(0L, await(upgraded.open("m1", DIMS)));
    assertEquals(List.of(1, 2, 3, 4), versions());
  }

  @Test
  @DisplayName("several instances opening at once all succeed")
  void concurrentOpens() throws Exception {
    List<Future<Long>> opens = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      PgMemories other = new PgMemories(vertx, url);
      extra.add(other);
      opens.add(other.open("m1", DIMS));
    }
    opens.add(store.open("m1", DIMS));
    await(Future.all(opens));
    assertEquals(List.of(1, 2, 3, 4), versions(), "each migration applied once");
  }

  @Test
  @DisplayName("a store further down the search path (another deployment's, in public) is not taken for this one's")
  void ownSchemaOnly() throws Exception {
    String below = schema + "_below";
    sql("CREATE SCHEMA " + below);
    try {
      String belowUrl = databaseUrl + (databaseUrl.contains("?") ? "&" : "?") + "search_path=" + below + ",public";
      PgMemories other = new PgMemories(vertx, belowUrl);
      extra.add(other);
      await(other.open("m1", DIMS));
      await(other.insert(memory("theirs", scope("u"), "tea", "tea", t0, null), vec(1, 0, 0, 0), null));
      PgMemories mine = new PgMemories(vertx, databaseUrl + (databaseUrl.contains("?") ? "&" : "?") + "search_path="
          + schema + "," + below + ",public");
      extra.add(mine);
      assertEquals(0L, await(mine.open("m1", DIMS)));
      assertEquals(List.of(1, 2, 3, 4), versions(), "its own migrations, in its own schema");
      await(mine.insert(memory("mine", scope("u"), "coffee", "coffee", t0, null), vec(0, 1, 0, 0), null));
      assertEquals(null, await(mine.byId("theirs")), "the other store's rows are not read");
      assertEquals(1L, sql("SELECT count(*) FROM " + below + ".memories").iterator().next().getLong(0));
    } finally {
      for (PgMemories s : extra) {
        s.close().await(10, TimeUnit.SECONDS);
      }
      extra.clear();
      sql("DROP SCHEMA " + below + " CASCADE");
    }
  }

  private List<Integer> versions() throws Exception {
    List<Integer> out = new ArrayList<>();
    for (var row : sql("SELECT version FROM " + schema + ".switchboard_migrations ORDER BY version")) {
      out.add(row.getInteger(0));
    }
    return out;
  }

  @Test
  @DisplayName("an inserted memory is found by its hash, with every field as stored")
  void insertThenByHash() throws Exception {
    await(store.open("m1", DIMS));
    Memory m = new Memory("a", scope("u"), "I like green tea", "i like green tea", "h1",
        new JsonObject().put("conversation", "c1"), Memory.Status.ACTIVE, null, t0, t0, t0.plus(Duration.ofDays(1)));
    await(store.insert(m, vec(1, 0, 0, 0), new LongTermStore.HistoryEntry("a", "add", m.content(), t0)));

    assertEquals(m, await(store.byHash(scope("u"), "h1")));
    assertNull(await(store.byHash(scope("other"), "h1")));
    assertNull(await(store.byHash(scope("u"), "h2")));
  }

  @Test
  @DisplayName("a second active memory with the same hash in a scope is DuplicateContent; another scope may have it")
  void duplicateHash() throws Exception {
    await(store.open("m1", DIMS));
    await(store.insert(memory("a", scope("u"), "tea", "tea", t0, null), null, null));

    Throwable t = failure(store.insert(memory("b", scope("u"), "tea", "tea", t0, null), null, null));
    assertInstanceOf(LongTermStore.DuplicateContent.class, t);
    await(store.insert(memory("c", scope("v"), "tea", "tea", t0, null), null, null));
    assertNull(await(store.byId("b")));
  }

  @Test
  @DisplayName("nearest returns n memories of the asked scope only, nearest first, even when another scope is closer")
  void nearestStaysInScope() throws Exception {
    await(store.open("m1", DIMS));
    // the other scope is bigger and closer to the query: a post-filtered plain index scan would come back short
    for (int i = 0; i < 300; i++) {
      await(store.insert(memory("b" + i, scope("b"), "b" + i, "b", t0.plusSeconds(i), null),
          vec(1, 0.001f * i, 0, 0), null));
    }
    await(store.insert(memory("a1", scope("a"), "a1", "a", t0, null), vec(0, 1, 0, 0), null));
    await(store.insert(memory("a2", scope("a"), "a2", "a", t0, null), vec(0.5f, 1, 0, 0), null));
    await(store.insert(memory("a3", scope("a"), "a3", "a", t0, null), vec(-0.2f, 0, 1, 0), null));
    await(store.insert(memory("a4", scope("a"), "a4", "a", t0, null), null, null));

    List<LongTermStore.Hit> hits = await(store.nearest(scope("a"), vec(1, 0, 0, 0), 3, t0));
    assertEquals(List.of("a2", "a1", "a3"), hits.stream().map(h -> h.memory().id()).toList());
    assertEquals(0.5 / Math.sqrt(1.25), hits.get(0).similarity(), 1e-5);
    assertEquals(0.0, hits.get(1).similarity(), 1e-5);
    assertEquals(0.0, hits.get(0).keyword());

    List<LongTermStore.Hit> others = await(store.nearest(scope("b"), vec(1, 0, 0, 0), 10, t0));
    assertEquals(10, others.size());
    assertTrue(others.stream().allMatch(h -> h.memory().scope().equals(scope("b"))));
    for (int i = 1; i < others.size(); i++) {
      assertTrue(others.get(i - 1).similarity() >= others.get(i).similarity(), "not nearest first");
    }
  }

  @Test
  @DisplayName("keyword search matches any of the segmented words, best first, and ignores what is not a word")
  void keywordMatchesTokens() throws Exception {
    await(store.open("m1", DIMS));
    await(store.insert(memory("a", scope("u"), "我们喜欢北京", "我们 喜欢 北京", t0, null), null, null));
    await(store.insert(memory("b", scope("u"), "北京天气很好, 北京烤鸭", "北京 天气 很 好 北京 烤鸭", t0, null), null, null));
    await(store.insert(memory("c", scope("u"), "Green Tea", "green tea", t0, null), null, null));
    await(store.insert(memory("d", scope("v"), "北京", "北京", t0, null), null, null));

    List<LongTermStore.Hit> hits = await(store.keyword(scope("u"), List.of("北京", "烤鸭", "|", "!'"), 10, t0));
    assertEquals(List.of("b", "a"), hits.stream().map(h -> h.memory().id()).toList());
    assertTrue(hits.get(0).keyword() > hits.get(1).keyword());
    assertEquals(0.0, hits.get(0).similarity());

    assertEquals(List.of("c"), await(store.keyword(scope("u"), List.of("TEA"), 10, t0)).stream()
        .map(h -> h.memory().id()).toList());
    assertTrue(await(store.keyword(scope("u"), List.of(), 10, t0)).isEmpty());
    assertTrue(await(store.keyword(scope("u"), List.of("&", "'"), 10, t0)).isEmpty());
  }

  @Test
  @DisplayName("a rare word's memories are found and ranked first among more matches of a common word than are ranked")
  void rareWordFoundAmongCommonOnes() throws Exception {
    await(store.open("m1", DIMS));
    // written first and more than the budget of rows the rare words may find: a sample of the
    // common word's matches in table order would hold none of the rare ones
    int common = PgMemories.PROBE_BUDGET + PgMemories.KEYWORD_POOL;
    for (int batch = 0; batch < common; batch += 100) {
      List<Future<Void>> writes = new ArrayList<>();
      for (int i = batch; i < Math.min(common, batch + 100); i++) {
        writes.add(store.insert(memory("c" + i, scope("u"), "每天 " + i, "每天 填充", t0, null), null, null));
      }
      await(Future.all(writes));
    }
    await(store.insert(memory("both", scope("u"), "每天 罕见", "每天 罕见", t0, null), null, null));
    await(store.insert(memory("rare", scope("u"), "罕见", "罕见", t0, null), null, null));
    sql("ANALYZE " + schema + ".memories");
    PgMemories analysed = new PgMemories(vertx, url);
    extra.add(analysed);
    await(analysed.open("m1", DIMS));

    List<LongTermStore.Hit> hits = await(analysed.keyword(scope("u"), List.of("每天", "罕见"), 10, t0));
    assertEquals(List.of("both", "rare"), ids(hits));
    assertTrue(hits.get(0).keyword() > hits.get(1).keyword(), "both words rank above one");
  }

  @Test
  @DisplayName("a query of common words only still finds memories holding them")
  void commonWordsStillFind() throws Exception {
    await(store.open("m1", DIMS));
    for (int i = 0; i < 2 * PgMemories.KEYWORD_POOL; i++) {
      await(store.insert(memory("c" + i, scope("u"), "每天早上 " + i, i % 2 == 0 ? "每天 早上" : "每天", t0, null), null, null));
    }
    sql("ANALYZE " + schema + ".memories");
    PgMemories analysed = new PgMemories(vertx, url);
    extra.add(analysed);
    await(analysed.open("m1", DIMS));

    List<LongTermStore.Hit> hits = await(analysed.keyword(scope("u"), List.of("每天", "早上"), 10, t0));
    assertEquals(10, hits.size());
    assertTrue(hits.stream().allMatch(h -> h.memory().tokens().equals("每天 早上")), "both words rank first: " + ids(hits));
  }

  @Test
  @DisplayName("an expired memory is neither found nor listed, and purging deletes it")
  void expiredNotReturned() throws Exception {
    await(store.open("m1", DIMS));
    Instant now = t0.plusSeconds(100);
    await(store.insert(memory("old", scope("u"), "tea", "tea", t0, now), vec(1, 0, 0, 0), null));
    await(store.insert(memory("live", scope("u"), "tea too", "tea", t0, now.plusSeconds(1)), vec(1, 0, 0, 0), null));

    assertEquals(List.of("live"), ids(await(store.nearest(scope("u"), vec(1, 0, 0, 0), 5, now))));
    assertEquals(List.of("live"), ids(await(store.keyword(scope("u"), List.of("tea"), 5, now))));
    assertEquals(List.of("live"), await(store.list(scope("u"), null, 10, null, now)).stream().map(Memory::id).toList());

    assertEquals(1, await(store.purgeExpired(now)));
    assertNull(await(store.byId("old")));
    assertNotNull(await(store.byId("live")));
  }

  @Test
  @DisplayName("superseding keeps the old memory as superseded, pointing at the replacement, with the history of both")
  void supersedeKeepsOld() throws Exception {
    await(store.open("m1", DIMS));
    Memory old = memory("old", scope("u"), "lives in Paris", "lives in paris", t0, null);
    await(store.insert(old, vec(1, 0, 0, 0), new LongTermStore.HistoryEntry("old", "add", old.content(), t0)));

    Instant t1 = t0.plusSeconds(10);
    Memory next = memory("new", scope("u"), "lives in Berlin", "lives in berlin", t1, null);
    await(store.supersede("old", next, vec(0, 1, 0, 0), List.of(
        new LongTermStore.HistoryEntry("old", "superseded", old.content(), t1),
        new LongTermStore.HistoryEntry("new", "add", next.content(), t1))));

    Memory after = await(store.byId("old"));
    assertEquals(Memory.Status.SUPERSEDED, after.status());
    assertEquals("new", after.supersededBy());
    assertEquals(Memory.Status.ACTIVE, await(store.byId("new")).status());
    assertEquals(List.of("add", "superseded"), await(store.history("old")).stream()
        .map(LongTermStore.HistoryEntry::event).toList());
    assertEquals(List.of("new"), ids(await(store.nearest(scope("u"), vec(1, 0, 0, 0), 5, t1))));
    assertEquals(List.of("old"), await(store.list(scope("u"), Memory.Status.SUPERSEDED, 10, null, t1)).stream()
        .map(Memory::id).toList());

    Throwable again = failure(store.supersede("old", memory("x", scope("u"), "x", "x", t1, null), null, List.of()));
    assertEquals(404, Failure.from(again).status());
    assertNull(await(store.byId("x")));
  }

  @Test
  @DisplayName("update replaces the content and keeps the id; taking another active memory's hash is DuplicateContent")
  void updateKeepsId() throws Exception {
    await(store.open("m1", DIMS));
    await(store.insert(memory("a", scope("u"), "tea", "tea", t0, null), vec(1, 0, 0, 0), null));
    await(store.insert(memory("b", scope("u"), "coffee", "coffee", t0, null), vec(0, 1, 0, 0), null));

    Instant t1 = t0.plusSeconds(5);
    Memory changed = new Memory("a", scope("u"), "green tea", "green tea", "h-green tea", null, Memory.Status.ACTIVE,
        null, t0, t1, null);
    await(store.update(changed, null, new LongTermStore.HistoryEntry("a", "update", "green tea", t1)));
    assertEquals(changed, await(store.byId("a")));
    assertEquals(List.of("a"), ids(await(store.keyword(scope("u"), List.of("green"), 5, t1))));
    assertEquals(List.of("a"), await(store.unembedded(10)).stream().map(Memory::id).toList());

    Memory clash = new Memory("a", scope("u"), "coffee", "coffee", "h-coffee", null, Memory.Status.ACTIVE,
        null, t0, t1, null);
    assertInstanceOf(LongTermStore.DuplicateContent.class, failure(store.update(clash, null, null)));
  }

  @Test
  @DisplayName("a new embedding model drops every vector and unembedded hands them out, oldest first")
  void modelChangeNullsVectors() throws Exception {
    assertEquals(0L, await(store.open("m1", DIMS)));
    await(store.insert(memory("a", scope("u"), "a", "a", t0, null), vec(1, 0, 0, 0), null));
    await(store.insert(memory("b", scope("u"), "b", "b", t0.plusSeconds(1), null), vec(0, 1, 0, 0), null));
    await(store.insert(memory("c", scope("u"), "c", "c", t0.plusSeconds(2), null), null, null));
    assertEquals(List.of("c"), await(store.unembedded(10)).stream().map(Memory::id).toList());

    assertEquals(3L, await(store.open("m2", DIMS)));
    assertEquals(List.of("a", "b", "c"), await(store.unembedded(10)).stream().map(Memory::id).toList());
    assertEquals(List.of("a", "b"), await(store.unembedded(2)).stream().map(Memory::id).toList());
    assertTrue(await(store.nearest(scope("u"), vec(1, 0, 0, 0), 5, t0)).isEmpty());
    assertEquals(1, sql("SELECT 1 FROM pg_indexes WHERE schemaname = '" + schema
        + "' AND indexname = 'memories_embedding_hnsw'").size());

    await(store.embed("a", vec(1, 0, 0, 0)));
    assertEquals(List.of("a"), ids(await(store.nearest(scope("u"), vec(1, 0, 0, 0), 5, t0))));
    assertEquals(2L, await(store.open("m2", DIMS)));
  }

  @Test
  @DisplayName("a model with other dimensions resizes the vector column")
  void dimsChangeResizes() throws Exception {
    await(store.open("m1", DIMS));
    await(store.insert(memory("a", scope("u"), "a", "a", t0, null), vec(1, 0, 0, 0), null));

    assertEquals(1L, await(store.open("m2", 8)));
    assertEquals("vector(8)", sql("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = '"
        + schema + ".memories'::regclass AND attname = 'embedding'").iterator().next().getString(0));
    assertEquals("8", sql("SELECT value FROM " + schema + ".memory_meta WHERE key = 'embed_dims'")
        .iterator().next().getString(0));

    await(store.embed("a", vec(0, 0, 0, 0, 1, 0, 0, 0)));
    List<LongTermStore.Hit> hits = await(store.nearest(scope("u"), vec(0, 0, 0, 0, 1, 0, 0, 0), 5, t0));
    assertEquals(List.of("a"), ids(hits));
    assertEquals(1.0, hits.get(0).similarity(), 1e-5);
    assertTrue(failure(store.embed("a", vec(1, 0, 0, 0))) != null, "a vector of the old size was accepted");
  }

  @Test
  @DisplayName("delete removes the memory and its history; a second delete finds nothing")
  void deleteRemoves() throws Exception {
    await(store.open("m1", DIMS));
    await(store.insert(memory("a", scope("u"), "tea", "tea", t0, null), vec(1, 0, 0, 0),
        new LongTermStore.HistoryEntry("a", "add", "tea", t0)));
    assertEquals(1, await(store.history("a")).size());

    assertTrue(await(store.delete("a")));
    assertNull(await(store.byId("a")));
    assertTrue(await(store.history("a")).isEmpty());
    assertFalse(await(store.delete("a")));
    // its hash is free again
    await(store.insert(memory("b", scope("u"), "tea", "tea", t0, null), null, null));
  }

  @Test
  @DisplayName("list pages newest first, continuing after the cursor; an unknown cursor ends the listing")
  void listPages() throws Exception {
    await(store.open("m1", DIMS));
    for (int i = 0; i < 5; i++) {
      await(store.insert(memory("m" + i, scope("u"), "c" + i, "c", t0.plusSeconds(i), null), null, null));
    }
    await(store.insert(memory("same", scope("u"), "same time", "c", t0.plusSeconds(4), null), null, null));
    await(store.insert(memory("x", scope("v"), "c", "c", t0, null), null, null));

    Set<String> seen = new HashSet<>();
    List<String> order = new ArrayList<>();
    LongTermStore.Position cursor = null;
    do {
      List<Memory> page = await(store.list(scope("u"), null, 2, cursor, t0));
      page.forEach(m -> order.add(m.id()));
      cursor = page.size() < 2 ? null : new LongTermStore.Position(page.get(page.size() - 1).createdAt(),
          page.get(page.size() - 1).id());
    } while (cursor != null);
    seen.addAll(order);
    assertEquals(List.of("same", "m4", "m3", "m2", "m1", "m0"), order);
    assertEquals(6, seen.size());
    // a position is values: the memory it names may be gone
    await(store.delete("m2"));
    assertEquals(List.of("m1", "m0"), await(store.list(scope("u"), null, 5,
        new LongTermStore.Position(t0.plusSeconds(2), "m2"), t0)).stream().map(Memory::id).toList());
  }

  @Test
  @DisplayName("an unreachable PostgreSQL is a 503 memory_unavailable, from open and from ping")
  void storeDownIs503() throws Exception {
    PgMemories down = new PgMemories(vertx, "postgresql://switchboard@127.0.0.1:1/switchboard");
    extra.add(down);
    for (Future<?> f : List.of(down.ping(), down.open("m1", DIMS), down.byId("a"))) {
      Throwable t = failure(f);
      Failure failure = assertInstanceOf(Failure.class, t);
      assertEquals(503, failure.status());
      assertEquals("memory_unavailable", failure.code());
      assertTrue(failure.getMessage().startsWith("PostgreSQL is unavailable: "), failure.getMessage());
    }
    await(store.ping());
  }

  private static String scope(String name) {
    return "user:it-" + RUN + "-" + name;
  }

  private static Memory memory(String id, String scope, String content, String tokens, Instant created, Instant expires) {
    return new Memory(id, scope, content, tokens, "h-" + content, new JsonObject(), Memory.Status.ACTIVE, null,
        created, created, expires);
  }

  private static float[] vec(float... v) {
    double norm = 0;
    for (float x : v) {
      norm += x * x;
    }
    float[] out = new float[v.length];
    for (int i = 0; i < v.length; i++) {
      out[i] = (float) (v[i] / Math.sqrt(norm));
    }
    return out;
  }

  private static List<String> ids(List<LongTermStore.Hit> hits) {
    return hits.stream().map(h -> h.memory().id()).toList();
  }

  private static RowSet<Row> sql(String sql) throws Exception {
    return admin.query(sql).execute().await(20, TimeUnit.SECONDS);
  }

  private static <T> T await(Future<T> future) throws Exception {
    return future.await(20, TimeUnit.SECONDS);
  }

  private static Throwable failure(Future<?> future) throws Exception {
    AsyncResult<?> result = future.<AsyncResult<?>>transform(ar -> Future.succeededFuture(ar)).await(20, TimeUnit.SECONDS);
    assertTrue(result.failed(), "expected a failure");
    return result.cause();
  }
}
