package dev.switchboard.memory;

import dev.switchboard.bus.Failure;
import dev.switchboard.store.EmbeddedStore;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Logger;
import org.apache.lucene.analysis.core.WhitespaceAnalyzer;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.document.LongPoint;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.document.TextField;
import org.apache.lucene.index.CorruptIndexException;
import org.apache.lucene.index.IndexFormatTooNewException;
import org.apache.lucene.index.IndexFormatTooOldException;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.BooleanClause.Occur;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.KnnFloatVectorQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.SearcherManager;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.AlreadyClosedException;
import org.apache.lucene.store.FSDirectory;

/**
 * Long-term memory of the embedded profile. The SQLite file is the truth (records, history, the
 * embedding model, vectors as blobs); a Lucene index under {@code data/memory-index} is derived
 * from it and answers searches: HNSW over the vectors (cosine) and BM25 over the segmented words,
 * both filtered by scope. The index is committed in the background about once a second and
 * records the store revision it reflects; after a crash, or when the embedding model changes, it
 * is rebuilt from SQLite, so a lost or stale index never loses a memory.
 *
 * <p>The index can fail while the store does not (its disk filled up, say: Lucene then closes its
 * writer for good). A change the store has made is not undone for that: the write stands, the
 * memory is not ready ({@link #ping()} says why), searches run on the last good index, and the
 * index is reopened and rebuilt from the store in the background as soon as there is room again.
 */
final class EmbeddedMemories implements LongTermStore {

  private static final Logger LOG = Logger.getLogger(EmbeddedMemories.class.getName());
  static final String INDEX_DIR = "memory-index";
  /** Lucene's HNSW format takes up to 1024 dimensions. */
  static final int MAX_DIMENSIONS = 1024;
  static final int SEARCH_BREADTH = 100;

  private static final String[] SCHEMA = {
      """
      CREATE TABLE IF NOT EXISTS memories (
        id TEXT PRIMARY KEY,
        scope TEXT NOT NULL,
        content TEXT NOT NULL,
        tokens TEXT NOT NULL,
        hash TEXT NOT NULL,
        source TEXT NOT NULL,
        status TEXT NOT NULL,
        superseded_by TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        expires_at INTEGER,
        embedding BLOB)""",
      // the same content is stored once per scope, even when two writers race
      "CREATE UNIQUE INDEX IF NOT EXISTS memories_active_hash ON memories (scope, hash) WHERE status = 'active'",
      "CREATE INDEX IF NOT EXISTS memories_scope ON memories (scope, status, created_at DESC, id DESC)",
      "CREATE INDEX IF NOT EXISTS memories_unembedded ON memories (created_at) WHERE embedding IS NULL AND status = 'active'",
      """
      CREATE TABLE IF NOT EXISTS memory_history (
        memory_id TEXT NOT NULL,
        event TEXT NOT NULL,
        content TEXT,
        at INTEGER NOT NULL)""",
      "CREATE INDEX IF NOT EXISTS memory_history_id ON memory_history (memory_id, at)",
      "CREATE TABLE IF NOT EXISTS memory_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
  };
  private static final String COLUMNS =
      "id, scope, content, tokens, hash, source, status, superseded_by, created_at, updated_at, expires_at";
  private static final String INSERT = "INSERT INTO memories (" + COLUMNS + ", embedding) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)";
  private static final String UPDATE = """
      UPDATE memories SET content = ?, tokens = ?, hash = ?, source = ?, updated_at = ?, expires_at = ?, embedding = ?
      WHERE id = ? AND status = 'active'""";
  private static final String MARK_SUPERSEDED = """
      UPDATE memories SET status = 'superseded', superseded_by = ?, updated_at = ? WHERE id = ? AND status = 'active'""";
  private static final String BY_HASH = "SELECT " + COLUMNS + " FROM memories WHERE scope = ? AND hash = ? AND status = 'active'";
  private static final String BY_ID = "SELECT " + COLUMNS + " FROM memories WHERE id = ?";
  private static final String BY_ID_WITH_VECTOR = "SELECT " + COLUMNS + ", embedding FROM memories WHERE id = ?";
  private static final String LIST = "SELECT " + COLUMNS + " " + """
       FROM memories WHERE scope = ? AND status = ? AND (expires_at IS NULL OR expires_at > ? OR status <> 'active')
         AND (? IS NULL OR created_at < ? OR (created_at = ? AND id < ?))
       ORDER BY created_at DESC, id DESC LIMIT ?""";
  private static final String HISTORY = "SELECT memory_id, event, content, at FROM memory_history WHERE memory_id = ? ORDER BY at, rowid";
  private static final String ADD_HISTORY = "INSERT INTO memory_history (memory_id, event, content, at) VALUES (?,?,?,?)";
  private static final String DELETE = "DELETE FROM memories WHERE id = ?";
  private static final String DELETE_HISTORY = "DELETE FROM memory_history WHERE memory_id = ?";
  private static final String UNEMBEDDED = "SELECT " + COLUMNS
      + " FROM memories WHERE embedding IS NULL AND status = 'active' ORDER BY created_at LIMIT ?";
  private static final String SET_EMBEDDING = "UPDATE memories SET embedding = ? WHERE id = ?";
  private static final String EXPIRED = "SELECT id FROM memories WHERE expires_at IS NOT NULL AND expires_at <= ?";
  private static final String ACTIVE_PAGE = "SELECT " + COLUMNS
      + ", embedding, rowid FROM memories WHERE status = 'active' AND rowid > ? ORDER BY rowid LIMIT ?";
  private static final int REBUILD_PAGE = 1000;
  private static final String GET_META = "SELECT value FROM memory_meta WHERE key = ?";
  private static final String SET_META = "INSERT INTO memory_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value";
  private static final String BUMP_REV = """
      INSERT INTO memory_meta (key, value) VALUES ('rev', '1')
      ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)""";

  private final Vertx vertx;
  private final Path dataDir;
  private EmbeddedStore store;
  /** Lucene writes, refreshes and commits, one at a time. */
  private final WorkerExecutor indexThread;
  /** Where changes go (index thread only, but read for health checks). */
  private volatile IndexWriter writer;
  /** Where searches look: the writer's, or while the index is rebuilt, the last good one's. */
  private volatile SearcherManager searchers;
  /** Whether {@link #searchers} come from {@link #writer} (false while a rebuild is under way). */
  private volatile boolean searchersCurrent;
  private FSDirectory directory;
  private long commitTimer = -1;
  /** Store revision the index reflects (index thread only). */
  private long appliedRev;
  /** Highest revision applied since the writer was opened (index thread only). */
  private long lastRev = -1;
  private boolean dirty;
  /** An index change failed: the index misses something the store has, until it is rebuilt. */
  private boolean stale;
  /** Why the index needs reopening and rebuilding; null while it is fine. */
  private volatile Throwable broken;
  /** Why the last commit failed; null once one succeeds (the changes are still in the writer). */
  private volatile Throwable commitFailed;
  /** Counts writers opened, so that a failure under a rebuild's own writer is not cleared by it. */
  private volatile int generation;
  private volatile int brokenGeneration = -1;
  private final AtomicBoolean recovering = new AtomicBoolean();
  private long recoveryTimer = -1;
  private int recoveryAttempts;
  /** Retries of a rebuild back off to this; a rebuild waiting for disk space checks every 2 s. */
  private static final long MAX_RECOVERY_WAIT = 10_000;

  EmbeddedMemories(Vertx vertx, Path dataDir) {
    this.vertx = vertx;
    this.dataDir = dataDir;
    this.indexThread = vertx.createSharedWorkerExecutor("switchboard-memory-index", 1);
  }

  @Override
  public Future<Long> open(String model, int dimensions) {
    if (dimensions > MAX_DIMENSIONS) {
      return Future.failedFuture(new IllegalStateException("the embedded store indexes vectors of up to " + MAX_DIMENSIONS
          + " dimensions; model " + model + " makes " + dimensions + " (pick a smaller model or the distributed profile)"));
    }
    return EmbeddedStore.open(vertx, dataDir)
        .compose(s -> {
          if (closing) {
            return s.close().compose(x -> Future.failedFuture("closed while opening"));
          }
          store = s;
          return s.transaction(c -> {
            EmbeddedStore.execute(c, SCHEMA);
            String recorded = meta(c, "embed_model");
            boolean changed = recorded != null && !recorded.equals(model);
            if (changed) {
              try (Statement st = c.createStatement()) {
                st.executeUpdate("UPDATE memories SET embedding = NULL");
              }
              LOG.info("embedding model changed from " + recorded + " to " + model + ": memories will be re-indexed");
            }
            setMeta(c, "embed_model", model);
            if (changed) {
              bumpRev(c);
            }
            return rev(c);
          });
        })
        .compose(this::openIndex)
        .compose(v -> store.run(c -> {
          try (Statement st = c.createStatement();
               ResultSet rs = st.executeQuery("SELECT count(*) FROM memories WHERE embedding IS NULL AND status = 'active'")) {
            return rs.next() ? rs.getLong(1) : 0L;
          }
        }))
        // a failed open leaves nothing behind (a later attempt would find the index locked)
        .onFailure(e -> release())
        .onSuccess(v -> commitTimer = vertx.setPeriodic(1000, id -> indexThread.<Void>executeBlocking(() -> {
          if (broken != null) {
            return null;
          }
          try {
            commitIfDirty();
            commitFailed = null;
          } catch (IOException | RuntimeException e) {
            // not committed yet is not lost: the changes stay in the writer for the next try,
            // unless Lucene gave the writer up, and then the index is rebuilt
            commitFailed = e;
            IndexWriter w = writer;
            if (w == null || !w.isOpen() || w.getTragicException() != null) {
              throw e;
            }
            return null;
          }
          // background merges finish without a write: searches should see the merged segments
          if (searchersCurrent) {
            searchers.maybeRefresh();
          }
          return null;
        }, true).onFailure(this::indexFailed)));
  }

  /**
   * Opens the index; rebuilds it from the store when it does not reflect revision {@code rev}. The
   * rebuild reads rows on the store's thread and feeds the (thread-safe) writer from there, so no
   * worker ever waits on another.
   */
  private Future<Void> openIndex(long rev) {
    return indexThread.executeBlocking(() -> {
      Path dir = indexDir();
      Files.createDirectories(dir);
      directory = FSDirectory.open(dir);
      try {
        writer = new IndexWriter(directory, writerConfig(IndexWriterConfig.OpenMode.CREATE_OR_APPEND));
      } catch (CorruptIndexException | IndexFormatTooOldException
               | IndexFormatTooNewException e) {
        // the index is derived: one that cannot be read is started afresh and rebuilt from the store
        LOG.info("memory index unreadable (" + e.getMessage() + "): rebuilding it from the store");
        writer = new IndexWriter(directory, writerConfig(IndexWriterConfig.OpenMode.CREATE));
      }
      generation++;
      long indexed = -1;
      Iterable<Map.Entry<String, String>> data = writer.getLiveCommitData();
      if (data != null) {
        for (Map.Entry<String, String> e : data) {
          if ("rev".equals(e.getKey())) {
            indexed = Long.parseLong(e.getValue());
          }
        }
      }
      return indexed;
    }, true).compose(indexed -> {
      if (indexed == rev) {
        appliedRev = rev;
        return Future.succeededFuture(false);
      }
      long started = System.nanoTime();
      return indexThread.executeBlocking(() -> writer.deleteAll(), true)
          .compose(x -> rebuildFrom(0, 0, false))
          .map(count -> {
            if (count > 0 || indexed >= 0) {
              LOG.info("memory index rebuilt from the store: " + count + " memories in "
                  + (System.nanoTime() - started) / 1_000_000 + " ms");
            }
            return true;
          });
    }).compose(rebuilt -> indexThread.<Void>executeBlocking(() -> {
      if (rebuilt) {
        appliedRev = rev;
        dirty = true;
        commitIfDirty();
      }
      searchers = new SearcherManager(writer, null);
      searchersCurrent = true;
      return null;
    }, true)).recover(e -> {
      // a full disk at start-up says so (the open is retried until there is room)
      Failure storage = EmbeddedStore.storageFailure(indexDir(), e);
      return Future.<Void>failedFuture(storage != null ? storage : e);
    });
  }

  private static IndexWriterConfig writerConfig(IndexWriterConfig.OpenMode mode) {
    return new IndexWriterConfig(new WhitespaceAnalyzer()).setOpenMode(mode);
  }

  private Path indexDir() {
    return dataDir.resolve(INDEX_DIR);
  }

  /**
   * A page of rows is read on the store's thread, then indexed on the index thread, so neither waits
   * long. With {@code replace}, documents replace any of the same id (writes go on during a rebuild
   * after a failure, and may have indexed a memory already).
   */
  private Future<Integer> rebuildFrom(long afterRowid, int doneSoFar, boolean replace) {
    record Row(long rowid, Memory memory, float[] vector) {
    }
    return store.run(c -> {
      List<Row> page = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement(ACTIVE_PAGE)) {
        ps.setLong(1, afterRowid);
        ps.setInt(2, REBUILD_PAGE);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            byte[] blob = rs.getBytes(12);
            page.add(new Row(rs.getLong(13), memory(rs), blob == null ? null : vector(blob)));
          }
        }
      }
      return page;
    }).compose(page -> page.isEmpty() ? Future.succeededFuture(doneSoFar) : indexThread.executeBlocking(() -> {
      for (Row r : page) {
        if (replace) {
          writer.updateDocument(new Term("id", r.memory().id()), document(r.memory(), r.vector()));
        } else {
          writer.addDocument(document(r.memory(), r.vector()));
        }
      }
      return null;
    }, true).compose(x -> rebuildFrom(page.get(page.size() - 1).rowid(), doneSoFar + page.size(), replace)));
  }

  private void commitIfDirty() throws IOException {
    IndexWriter w = writer;
    if (dirty && w != null && w.isOpen()) {
      w.setLiveCommitData(Map.of("rev", Long.toString(appliedRev)).entrySet());
      w.commit();
      dirty = false;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // reads

  @Override
  public Future<Memory> byHash(String scope, String hash) {
    return store.run(c -> one(c, BY_HASH, scope, hash));
  }

  @Override
  public Future<Memory> byId(String id) {
    return store.run(c -> one(c, BY_ID, id));
  }

  @Override
  public Future<List<Hit>> nearest(String scope, float[] vector, int n, Instant now) {
    // the graph is explored for at least 100 candidates (like pgvector's ef_search): fewer lose recall
    return search(new KnnFloatVectorQuery("vector", vector, Math.max(n, SEARCH_BREADTH), visible(scope, now)), n, true);
  }

  @Override
  public Future<List<Hit>> keyword(String scope, List<String> tokens, int n, Instant now) {
    if (tokens.isEmpty()) {
      return Future.succeededFuture(List.of());
    }
    BooleanQuery.Builder words = new BooleanQuery.Builder();
    for (String t : tokens) {
      words.add(new TermQuery(new Term("tokens", t)), Occur.SHOULD);
    }
    Query q = new BooleanQuery.Builder()
        .add(words.build(), Occur.MUST)
        .add(visible(scope, now), Occur.FILTER)
        .build();
    return search(q, n, false);
  }

  /** Active memories of one scope that have not expired (only active ones are in the index). */
  private static Query visible(String scope, Instant now) {
    return new BooleanQuery.Builder()
        .add(new TermQuery(new Term("scope", scope)), Occur.FILTER)
        .add(LongPoint.newRangeQuery("expires", now.toEpochMilli() + 1, Long.MAX_VALUE), Occur.FILTER)
        .build();
  }

  private Future<List<Hit>> search(Query query, int n, boolean byVector) {
    // searches run in parallel on the shared worker pool; the searcher is reference-counted
    return vertx.executeBlocking(() -> {
      SearcherManager manager = searchers;
      IndexSearcher searcher;
      try {
        searcher = manager.acquire();
      } catch (AlreadyClosedException e) {
        // a rebuild just put a new index in place: search that one
        manager = searchers;
        try {
          searcher = manager.acquire();
        } catch (AlreadyClosedException again) {
          throw Failure.unavailable("memory_unavailable", "the memory index is being rebuilt; try again shortly");
        }
      }
      try {
        TopDocs top = searcher.search(query, n);
        List<Hit> hits = new ArrayList<>(top.scoreDocs.length);
        var fields = searcher.storedFields();
        for (ScoreDoc sd : top.scoreDocs) {
          Memory m = memory(fields.document(sd.doc));
          // Lucene's cosine score is (1 + cos) / 2
          hits.add(byVector ? new Hit(m, 2 * sd.score - 1, 0) : new Hit(m, 0, sd.score));
        }
        return hits;
      } finally {
        manager.release(searcher);
      }
    }, false);
  }

  @Override
  public Future<List<Memory>> list(String scope, Memory.Status status, int limit, Position after, Instant now) {
    return store.run(c -> {
      Long afterAt = after == null ? null : after.createdAt().toEpochMilli();
      List<Memory> out = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement(LIST)) {
        ps.setString(1, scope);
        ps.setString(2, (status == null ? Memory.Status.ACTIVE : status).wire());
        ps.setLong(3, now.toEpochMilli());
        setLong(ps, 4, afterAt);
        setLong(ps, 5, afterAt);
        setLong(ps, 6, afterAt);
        ps.setString(7, after == null ? null : after.id());
        ps.setInt(8, limit);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.add(memory(rs));
          }
        }
      }
      return out;
    });
  }

  @Override
  public Future<List<HistoryEntry>> history(String id) {
    return store.run(c -> {
      List<HistoryEntry> out = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement(HISTORY)) {
        ps.setString(1, id);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.add(new HistoryEntry(rs.getString(1), rs.getString(2), rs.getString(3), Instant.ofEpochMilli(rs.getLong(4))));
          }
        }
      }
      return out;
    });
  }

  @Override
  public Future<List<Memory>> unembedded(int limit) {
    return store.run(c -> {
      List<Memory> out = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement(UNEMBEDDED)) {
        ps.setInt(1, limit);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.add(memory(rs));
          }
        }
      }
      return out;
    });
  }

  // ---------------------------------------------------------------------------------------------
  // writes: SQLite first (the truth), then the index

  @Override
  public Future<Void> insert(Memory memory, float[] vector, HistoryEntry history) {
    return store.transaction(c -> {
      insert(c, memory, vector);
      addHistory(c, history);
      return bumpRev(c);
    }).recover(EmbeddedMemories::duplicate)
        .compose(rev -> index(rev, w -> w.updateDocument(new Term("id", memory.id()), document(memory, vector))));
  }

  @Override
  public Future<Void> update(Memory memory, float[] vector, HistoryEntry history) {
    return store.transaction(c -> {
      try (PreparedStatement ps = c.prepareStatement(UPDATE)) {
        ps.setString(1, memory.content());
        ps.setString(2, memory.tokens());
        ps.setString(3, memory.hash());
        ps.setString(4, memory.source().encode());
        ps.setLong(5, memory.updatedAt().toEpochMilli());
        setLong(ps, 6, memory.expiresAt() == null ? null : memory.expiresAt().toEpochMilli());
        ps.setBytes(7, vector == null ? null : blob(vector));
        ps.setString(8, memory.id());
        if (ps.executeUpdate() == 0) {
          throw gone(memory.id());
        }
      }
      addHistory(c, history);
      return bumpRev(c);
    }).recover(EmbeddedMemories::duplicate)
        .compose(rev -> index(rev, w -> w.updateDocument(new Term("id", memory.id()), document(memory, vector))));
  }

  @Override
  public Future<Void> supersede(String oldId, Memory replacement, float[] vector, List<HistoryEntry> history) {
    return store.transaction(c -> {
      try (PreparedStatement ps = c.prepareStatement(MARK_SUPERSEDED)) {
        ps.setString(1, replacement.id());
        ps.setLong(2, replacement.createdAt().toEpochMilli());
        ps.setString(3, oldId);
        if (ps.executeUpdate() == 0) {
          throw gone(oldId);
        }
      }
      insert(c, replacement, vector);
      for (HistoryEntry h : history) {
        addHistory(c, h);
      }
      return bumpRev(c);
    }).recover(EmbeddedMemories::duplicate)
        .compose(rev -> index(rev, w -> {
          w.deleteDocuments(new Term("id", oldId));
          w.updateDocument(new Term("id", replacement.id()), document(replacement, vector));
        }));
  }

  @Override
  public Future<Boolean> delete(String id) {
    return store.transaction(c -> {
      int n;
      try (PreparedStatement ps = c.prepareStatement(DELETE)) {
        ps.setString(1, id);
        n = ps.executeUpdate();
      }
      try (PreparedStatement ps = c.prepareStatement(DELETE_HISTORY)) {
        ps.setString(1, id);
        ps.executeUpdate();
      }
      return n > 0 ? bumpRev(c) : -1L;
    }).compose(rev -> rev < 0 ? Future.succeededFuture(false)
        : index(rev, w -> w.deleteDocuments(new Term("id", id))).map(true));
  }

  @Override
  public Future<Void> embed(String id, float[] vector) {
    return store.transaction(c -> {
      try (PreparedStatement ps = c.prepareStatement(SET_EMBEDDING)) {
        ps.setBytes(1, blob(vector));
        ps.setString(2, id);
        ps.executeUpdate();
      }
      Memory m = one(c, BY_ID, id);
      return new Object[] {m, bumpRev(c)};
    }).compose(a -> {
      Memory m = (Memory) a[0];
      long rev = (Long) a[1];
      return index(rev, w -> {
        if (m != null && m.status() == Memory.Status.ACTIVE) {
          w.updateDocument(new Term("id", id), document(m, vector));
        }
      });
    });
  }

  @Override
  public Future<Integer> purgeExpired(Instant before) {
    return store.transaction(c -> {
      List<String> ids = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement(EXPIRED)) {
        ps.setLong(1, before.toEpochMilli());
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            ids.add(rs.getString(1));
          }
        }
      }
      for (String id : ids) {
        try (PreparedStatement del = c.prepareStatement(DELETE); PreparedStatement hist = c.prepareStatement(DELETE_HISTORY)) {
          del.setString(1, id);
          del.executeUpdate();
          hist.setString(1, id);
          hist.executeUpdate();
        }
      }
      return new Object[] {ids, ids.isEmpty() ? -1L : bumpRev(c)};
    }).compose(a -> {
      @SuppressWarnings("unchecked")
      List<String> ids = (List<String>) a[0];
      if (ids.isEmpty()) {
        return Future.succeededFuture(0);
      }
      return index((Long) a[1], w -> {
        for (String id : ids) {
          w.deleteDocuments(new Term("id", id));
        }
      }).map(ids.size());
    });
  }

  @Override
  public Future<Void> ping() {
    return store.ping().compose(ok -> {
      Throwable failure = broken != null ? broken : commitFailed;
      if (failure != null) {
        return Future.failedFuture(indexError(failure));
      }
      IndexWriter w = writer;
      if (w == null || !w.isOpen()) {
        return Future.failedFuture("the memory index is closed");
      }
      return Future.succeededFuture();
    });
  }

  /** What an index failure means to a client: a full disk named as such, anything else as a failed index being rebuilt. */
  private Failure indexError(Throwable e) {
    Failure storage = EmbeddedStore.storageFailure(indexDir(), e);
    if (storage != null && storage.code() != null && storage.code().startsWith("storage_")) {
      return Failure.unavailable(storage.code(), storage.getMessage()
          + "; the memory index is rebuilt from the store once it can be written");
    }
    return storage != null ? storage : Failure.unavailable("memory_unavailable",
        "the memory index failed (" + e + "); it is rebuilt from the store");
  }

  @Override
  public Future<Void> close() {
    closing = true;
    return release().eventually(indexThread::close);
  }

  /** Set by {@link #close()}: an open still under way gives up at its next step, and no rebuild starts. */
  private volatile boolean closing;

  /** Closes the index and the database connection; the index thread stays for another open. */
  private Future<Void> release() {
    vertx.cancelTimer(commitTimer);
    vertx.cancelTimer(recoveryTimer);
    Future<Void> index = writer == null && directory == null ? Future.succeededFuture() : indexThread.executeBlocking(() -> {
      if (searchers != null) {
        searchers.close();
        searchers = null;
      }
      IndexWriter w = writer;
      writer = null;
      if (w != null && w.isOpen()) {
        try {
          if (broken == null) {
            commitIfDirty();
          }
          w.close();
        } catch (IOException | RuntimeException e) {
          // what was not committed is rebuilt from the store at the next start
          LOG.info("memory index closed without its last changes (" + e.getMessage() + "); the next start rebuilds it");
          w.rollback();
        }
      }
      if (directory != null) {
        directory.close();
        directory = null;
      }
      return null;
    }, true);
    return index.eventually(() -> {
      EmbeddedStore s = store;
      store = null;
      return s == null ? Future.succeededFuture() : s.close();
    });
  }

  @FunctionalInterface
  private interface IndexChange {
    void apply(IndexWriter writer) throws IOException;
  }

  /**
   * Applies a change the store has already made to the index and makes it visible to searches at
   * once (committed later). When the index cannot take it, the change still stands (the store is
   * the truth): the index is marked stale and rebuilt from the store in the background.
   */
  private Future<Void> index(long rev, IndexChange change) {
    return indexThread.<Void>executeBlocking(() -> {
      try {
        change.apply(writer);
      } catch (IOException | RuntimeException e) {
        // the store has the change but the index does not: never again claim to reflect the
        // store, so that the next start rebuilds the index from it (or a rebuild now does)
        stale = true;
        appliedRev = -1;
        dirty = true;
        brokenGeneration = generation;
        throw e;
      }
      lastRev = Math.max(lastRev, rev);
      if (!stale) {
        appliedRev = Math.max(appliedRev, rev);
      }
      dirty = true;
      if (searchersCurrent) {
        searchers.maybeRefreshBlocking();
      }
      return null;
    }, true).recover(e -> {
      indexFailed(e);
      return Future.succeededFuture();
    });
  }

  /** The index misses changes or its writer is gone: say so once, then rebuild it as soon as it can be written. */
  private void indexFailed(Throwable e) {
    if (closing) {
      return;
    }
    if (broken == null) {
      LOG.warning("memory index: " + indexError(e).getMessage() + " (searches miss the latest changes until then)");
    }
    broken = e;
    recoverSoon(0);
  }

  private void recoverSoon(long delay) {
    if (closing || !recovering.compareAndSet(false, true)) {
      return;
    }
    recoveryTimer = vertx.setTimer(Math.max(1, delay), t -> recover());
  }

  /**
   * Opens a new writer on an empty index and rebuilds it from the store while writes go on (they
   * go to the new writer; searches stay on the last good index until the new one is complete).
   * Without room on the index's disk it only waits: a rebuild would fail halfway anyway.
   */
  private void recover() {
    if (closing) {
      recovering.set(false);
      return;
    }
    vertx.executeBlocking(() -> EmbeddedStore.usableSpace(indexDir()), false).onComplete(space -> {
      if (space.failed() || space.result() < EmbeddedStore.NEARLY_FULL) {
        retryRecovery(2000, null);
        return;
      }
      long started = System.nanoTime();
      int[] mine = new int[1];
      indexThread.<Void>executeBlocking(() -> {
        IndexWriter old = writer;
        if (old != null && old.isOpen()) {
          old.rollback(); // its changes are all in the store; the rebuild brings them back
        }
        // CREATE: the rebuild starts from nothing, whatever the failure left in the directory
        writer = new IndexWriter(directory, writerConfig(IndexWriterConfig.OpenMode.CREATE));
        mine[0] = ++generation;
        searchersCurrent = false;
        stale = true;
        lastRev = -1;
        dirty = false;
        return null;
      }, true)
          .compose(x -> store.run(EmbeddedMemories::rev))
          .compose(rev -> rebuildFrom(0, 0, true).map(count -> new long[] {rev, count}))
          .compose(done -> indexThread.<Long>executeBlocking(() -> {
            if (brokenGeneration == mine[0]) {
              throw new IOException("a change failed during the rebuild");
            }
            appliedRev = Math.max(done[0], lastRev);
            stale = false;
            dirty = true;
            commitIfDirty();
            SearcherManager previous = searchers;
            searchers = new SearcherManager(writer, null);
            searchersCurrent = true;
            if (previous != null) {
              previous.close();
            }
            return done[1];
          }, true))
          .onComplete(ar -> {
            if (ar.succeeded()) {
              broken = null;
              commitFailed = null;
              recoveryAttempts = 0;
              recovering.set(false);
              LOG.info("memory index rebuilt from the store: " + ar.result() + " memories in "
                  + (System.nanoTime() - started) / 1_000_000 + " ms");
            } else {
              broken = ar.cause();
              recoveryAttempts++;
              retryRecovery(Math.min(MAX_RECOVERY_WAIT, 1000L << Math.min(recoveryAttempts, 4)), ar.cause());
            }
          });
    });
  }

  private void retryRecovery(long delay, Throwable cause) {
    recovering.set(false);
    if (cause != null) {
      LOG.fine("memory index rebuild failed (" + cause.getMessage() + "); trying again in " + delay + " ms");
    }
    recoverSoon(delay);
  }

  /** Another writer superseded or deleted the memory first. */
  private static Failure gone(String id) {
    return Failure.notFound("memory_not_found", "memory '" + id + "' is no longer active");
  }

  private static <T> Future<T> duplicate(Throwable e) {
    if (e instanceof SQLException sql && sql.getMessage() != null && sql.getMessage().contains("UNIQUE")) {
      return Future.failedFuture(new DuplicateContent());
    }
    return Future.failedFuture(e);
  }

  // ---------------------------------------------------------------------------------------------
  // rows, documents, vectors

  private static void insert(Connection c, Memory m, float[] vector) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(INSERT)) {
      ps.setString(1, m.id());
      ps.setString(2, m.scope());
      ps.setString(3, m.content());
      ps.setString(4, m.tokens());
      ps.setString(5, m.hash());
      ps.setString(6, m.source().encode());
      ps.setString(7, m.status().wire());
      ps.setString(8, m.supersededBy());
      ps.setLong(9, m.createdAt().toEpochMilli());
      ps.setLong(10, m.updatedAt().toEpochMilli());
      setLong(ps, 11, m.expiresAt() == null ? null : m.expiresAt().toEpochMilli());
      ps.setBytes(12, vector == null ? null : blob(vector));
      ps.executeUpdate();
    }
  }

  private static void addHistory(Connection c, HistoryEntry h) throws SQLException {
    if (h == null) {
      return;
    }
    try (PreparedStatement ps = c.prepareStatement(ADD_HISTORY)) {
      ps.setString(1, h.memoryId());
      ps.setString(2, h.event());
      ps.setString(3, h.content());
      ps.setLong(4, h.at().toEpochMilli());
      ps.executeUpdate();
    }
  }

  private static Memory one(Connection c, String sql, String... args) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setString(i + 1, args[i]);
      }
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? memory(rs) : null;
      }
    }
  }

  private static Memory memory(ResultSet rs) throws SQLException {
    long expires = rs.getLong(11);
    boolean noExpiry = rs.wasNull();
    return new Memory(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5),
        new JsonObject(rs.getString(6)), Memory.Status.of(rs.getString(7)), rs.getString(8),
        Instant.ofEpochMilli(rs.getLong(9)), Instant.ofEpochMilli(rs.getLong(10)),
        noExpiry ? null : Instant.ofEpochMilli(expires));
  }

  private static Document document(Memory m, float[] vector) {
    Document d = new Document();
    d.add(new StringField("id", m.id(), Field.Store.YES));
    d.add(new StringField("scope", m.scope(), Field.Store.YES));
    d.add(new TextField("tokens", m.tokens(), Field.Store.YES));
    d.add(new StoredField("content", m.content()));
    d.add(new StoredField("hash", m.hash()));
    d.add(new StoredField("source", m.source().encode()));
    d.add(new StoredField("created", m.createdAt().toEpochMilli()));
    d.add(new StoredField("updated", m.updatedAt().toEpochMilli()));
    long expires = m.expiresAt() == null ? Long.MAX_VALUE : m.expiresAt().toEpochMilli();
    d.add(new LongPoint("expires", expires));
    d.add(new StoredField("expires", expires));
    if (vector != null) {
      d.add(new KnnFloatVectorField("vector", vector, VectorSimilarityFunction.COSINE));
    }
    return d;
  }

  private static Memory memory(Document d) {
    long expires = d.getField("expires").numericValue().longValue();
    return new Memory(d.get("id"), d.get("scope"), d.get("content"), d.get("tokens"), d.get("hash"),
        new JsonObject(d.get("source")), Memory.Status.ACTIVE, null,
        Instant.ofEpochMilli(d.getField("created").numericValue().longValue()),
        Instant.ofEpochMilli(d.getField("updated").numericValue().longValue()),
        expires == Long.MAX_VALUE ? null : Instant.ofEpochMilli(expires));
  }

  static byte[] blob(float[] v) {
    ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(v);
    return b.array();
  }

  static float[] vector(byte[] blob) {
    float[] v = new float[blob.length / 4];
    ByteBuffer.wrap(blob).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
    return v;
  }

  private static void setLong(PreparedStatement ps, int i, Long v) throws SQLException {
    if (v == null) {
      ps.setNull(i, Types.INTEGER);
    } else {
      ps.setLong(i, v);
    }
  }

  private static String meta(Connection c, String key) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(GET_META)) {
      ps.setString(1, key);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getString(1) : null;
      }
    }
  }

  private static void setMeta(Connection c, String key, String value) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(SET_META)) {
      ps.setString(1, key);
      ps.setString(2, value);
      ps.executeUpdate();
    }
  }

  private static long bumpRev(Connection c) throws SQLException {
    try (Statement st = c.createStatement()) {
      st.executeUpdate(BUMP_REV);
    }
    return rev(c);
  }

  private static long rev(Connection c) throws SQLException {
    String v = meta(c, "rev");
    return v == null ? 0 : Long.parseLong(v);
  }
}
