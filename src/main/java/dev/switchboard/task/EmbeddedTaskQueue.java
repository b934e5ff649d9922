package dev.switchboard.task;

import dev.switchboard.bus.Failure;
import dev.switchboard.bus.TaskSubmission.Priority;
import dev.switchboard.store.EmbeddedStore;
import dev.switchboard.store.SeqCursor;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The task queue of the embedded profile: the {@code tasks} table of the SQLite file in the data
 * folder, every statement on the store's single worker thread (never on an event loop). A lease
 * is a row in {@code running} with an owner, a token and a deadline; fenced changes compare the
 * token inside the transaction that makes them.
 *
 * <p>Every change is committed in groups ({@link GroupCommit}): submissions, leases and fenced
 * steps that arrive while a commit is under way are written together in the next transaction, and
 * each future completes only after the commit that holds it. With {@code synchronous=FULL} one
 * commit is one fsync, so this is what lets the task API accept thousands of tasks a second
 * instead of a few hundred, without answering before the task is on disk. Reads go to the store
 * directly.
 *
 * <p>One process owns a data folder ({@link dev.switchboard.store.DataDirLock}), so at open every
 * lease held by another instance of the queue is a lease of a previous process that is gone: those
 * are reclaimed at once (queued again, or failed once the task lost {@code maxLost} workers) instead
 * of after their visibility timeout. This also covers rows the previous version left {@code running}.
 *
 * <p>Files written by the previous version are read as they are: its columns stay (and hold the
 * task of old rows, read back as the spec {@code {"input","model","channels","conversation",
 * "memory_scopes"}}), the columns this queue needs are added, and the states it used (queued,
 * running, succeeded, failed) keep their meaning.
 */
public final class EmbeddedTaskQueue implements TaskQueue {

  /** A group is bounded so that one commit does not hold the store thread (shared with other components) for long. */
  static final int MAX_BATCH = 512;
  /** Purge deletes in chunks, each its own transaction, so other work gets the store in between. */
  private static final int PURGE_CHUNK = 1_000;
  private static final int MAX_LIST = 1_000;

  private static final String[] SCHEMA = {
      // the table as the previous version created it; later columns are in COLUMNS
      """
      CREATE TABLE IF NOT EXISTS tasks (
        id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        status TEXT NOT NULL,
        priority INTEGER NOT NULL,
        input TEXT NOT NULL,
        model TEXT,
        channels TEXT NOT NULL,
        subject TEXT,
        idempotency_key TEXT,
        result TEXT,
        error TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL)""",
      // a key is one caller's: another subject using the same key gets its own task
      "CREATE UNIQUE INDEX IF NOT EXISTS tasks_idempotency ON tasks (subject, idempotency_key) WHERE idempotency_key IS NOT NULL",
  };

  private static final String[] COLUMNS = {
      // added by the previous version
      "conversation TEXT",
      "history_turns INTEGER NOT NULL DEFAULT 0",
      "run_at INTEGER NOT NULL DEFAULT 0",
      "memory_scopes TEXT",
      // added by this queue; old rows get 3, the previous default of queue.max_attempts
      "spec TEXT",
      "max_attempts INTEGER NOT NULL DEFAULT 3",
      "lost INTEGER NOT NULL DEFAULT 0",
      "lease_owner TEXT",
      "lease_token TEXT",
      "lease_until INTEGER NOT NULL DEFAULT 0",
      "lease_instance TEXT",
      // the last run's agent trace (JSON array), kept with the task
      "trace TEXT",
  };

  private static final String[] INDEXES = {
      // the line: lease, stats and the next due time walk (status, priority, run_at)
      "CREATE INDEX IF NOT EXISTS tasks_line ON tasks (status, priority, run_at, seq)",
      "CREATE INDEX IF NOT EXISTS tasks_listing ON tasks (status, seq)",
      "CREATE INDEX IF NOT EXISTS tasks_seq ON tasks (seq)",
      "CREATE INDEX IF NOT EXISTS tasks_finished ON tasks (status, updated_at)",
      // the previous version's line index, superseded by tasks_line
      "DROP INDEX IF EXISTS tasks_status",
  };

  /** Once, when this queue first opens a file of the previous version (it has no spec column yet). */
  private static final String[] UPGRADE = {
      // rows written before run_at existed were runnable from their creation
      "UPDATE tasks SET run_at = created_at WHERE run_at = 0",
  };

  private static final String ROW = """
      id, seq, status, priority, input, model, channels, subject, result, error, attempts, created_at, updated_at,
      conversation, history_turns, run_at, memory_scopes, spec, max_attempts, lost, trace""";
  // a listing does not show traces (up to 32 KB each): they are not read for it
  private static final String LIST_ROW = ROW.replace(", trace", ", NULL AS trace");
  private static final String BY_ID = "SELECT " + ROW + " FROM tasks WHERE id = ?";
  private static final String BY_KEY = "SELECT " + ROW + " FROM tasks WHERE idempotency_key = ? AND subject IS ?";
  private static final String MAX_SEQ = "SELECT COALESCE(MAX(seq), 0) FROM tasks";
  // input and channels are the previous version's NOT NULL columns; new rows keep their task in spec
  private static final String INSERT = """
      INSERT INTO tasks (id, seq, status, priority, input, channels, subject, idempotency_key, created_at, updated_at,
                         run_at, spec, max_attempts)
      VALUES (?, ?, 'queued', ?, '', '[]', ?, ?, ?, ?, ?, ?, ?)""";
  private static final String RUNNABLE = """
      SELECT id FROM tasks WHERE status = 'queued' AND priority = ? AND run_at <= ? ORDER BY run_at, seq LIMIT ?""";
  private static final String START = """
      UPDATE tasks SET status = 'running', attempts = attempts + 1, lease_owner = ?, lease_token = ?, lease_until = ?,
                       lease_instance = ?, updated_at = ?
      WHERE id = ? AND status = 'queued'""";
  private static final String FENCE = "SELECT status, lease_token, attempts, max_attempts FROM tasks WHERE id = ?";
  private static final String EXTEND = "UPDATE tasks SET lease_until = ? WHERE id = ?";
  private static final String SAVE_RESULT = "UPDATE tasks SET result = ?, trace = COALESCE(?, trace), updated_at = ? WHERE id = ?";
  private static final String SAVE_TRACE = "UPDATE tasks SET trace = ? WHERE id = ?";
  // the token stays on a finished task: a late call with it is told the lease is gone, not another's
  private static final String SUCCEED = """
      UPDATE tasks SET status = 'succeeded', lease_owner = NULL, lease_until = 0, updated_at = ? WHERE id = ?""";
  private static final String FAIL = """
      UPDATE tasks SET status = 'failed', error = COALESCE(?, error), lease_owner = NULL, lease_until = 0, updated_at = ? WHERE id = ?""";
  private static final String REQUEUE = """
      UPDATE tasks SET status = 'queued', error = COALESCE(?, error), run_at = ?, attempts = attempts - ?,
                       lease_owner = NULL, lease_token = NULL, lease_until = 0, lease_instance = NULL, updated_at = ?
      WHERE id = ?""";
  private static final String EXPIRED = """
      SELECT id, attempts, lost FROM tasks WHERE status = 'running' AND lease_until <= ?""";
  private static final String FOREIGN = """
      SELECT id, attempts, lost FROM tasks WHERE status = 'running' AND lease_instance IS NOT ?""";
  // the lost run is taken back out of attempts: the task did not fail, its worker died
  private static final String LOST = "UPDATE tasks SET lost = ?, attempts = attempts - ? WHERE id = ?";
  // a running task keeps its token, so that its worker learns it was cancelled rather than replaced
  private static final String CANCEL = """
      UPDATE tasks SET status = 'cancelled', result = NULL, lease_owner = NULL, lease_until = 0, updated_at = ?
      WHERE id = ?""";
  private static final String RETRY = """
      UPDATE tasks SET status = 'queued', attempts = 0, lost = 0, error = NULL, run_at = ?, lease_owner = NULL,
                       lease_token = NULL, lease_until = 0, lease_instance = NULL, updated_at = ?
      WHERE id = ?""";
  private static final String DEPTH = """
      SELECT COUNT(*), MIN(run_at) FROM tasks WHERE status = 'queued' AND priority = ? AND run_at <= ?""";
  private static final String SCHEDULED = "SELECT COUNT(*) FROM tasks WHERE status = 'queued' AND priority = ? AND run_at > ?";
  private static final String RUNNING_COUNT = "SELECT COUNT(*) FROM tasks WHERE status = 'running'";
  private static final String NEXT_DUE = "SELECT MIN(run_at) FROM tasks WHERE status = 'queued' AND priority = ?";
  private static final String PURGE = """
      DELETE FROM tasks WHERE id IN (SELECT id FROM tasks WHERE status IN ('succeeded', 'failed', 'cancelled')
                                     AND updated_at < ? LIMIT ?)""";

  private static final Set<String> STATUSES = Set.of(QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED);

  private record Outcome(Fenced fenced, long wakeAt) {
  }

  @FunctionalInterface
  private interface LeasedChange {
    /** Applies a change to a task this lease still holds; answers when to wake workers (0: no need). */
    long apply(Connection c, long now, int attempts, int maxAttempts) throws SQLException;
  }

  private final EmbeddedStore store;
  private final int maxLost;
  private final String instance = UUID.randomUUID().toString();
  private final WorkSignal signal;
  private final GroupCommit writes;
  /** Read at open, then counted here: the store thread is the only writer of tasks (gaps are harmless). */
  private final AtomicLong seq = new AtomicLong();
  /** The rotation's position; only the store thread moves it. */
  private final AtomicInteger slot = new AtomicInteger();
  private volatile boolean closed;

  private EmbeddedTaskQueue(Vertx vertx, EmbeddedStore store, int maxLost) {
    this.store = store;
    this.maxLost = maxLost;
    this.signal = new WorkSignal(vertx);
    this.writes = new GroupCommit(vertx, store, MAX_BATCH);
  }

  /**
   * Creates or upgrades the table, then reclaims the leases of the previous process. The store
   * stays the caller's: {@link #close} leaves it open.
   */
  public static Future<EmbeddedTaskQueue> open(Vertx vertx, EmbeddedStore store) {
    return open(vertx, store, QueueSettings.DEFAULT_MAX_LOST);
  }

  /** {@code maxLost}: runs whose worker was lost after which a task fails (queue.max_lost). */
  public static Future<EmbeddedTaskQueue> open(Vertx vertx, EmbeddedStore store, int maxLost) {
    EmbeddedTaskQueue queue = new EmbeddedTaskQueue(vertx, store, maxLost);
    return store.transaction(c -> {
      EmbeddedStore.execute(c, SCHEMA);
      boolean upgrade = !hasColumn(c, "spec");
      EmbeddedStore.ensureColumns(c, "tasks", COLUMNS);
      EmbeddedStore.execute(c, INDEXES);
      if (upgrade) {
        EmbeddedStore.execute(c, UPGRADE);
      }
      try (PreparedStatement ps = c.prepareStatement(MAX_SEQ); ResultSet rs = ps.executeQuery()) {
        rs.next();
        queue.seq.set(rs.getLong(1));
      }
      return queue.reclaim(c, FOREIGN, queue.instance);
    }).recover(EmbeddedTaskQueue::unavailable).map(reclaimed -> queue);
  }

  // ---------------------------------------------------------------------------------------------
  // submissions

  @Override
  public Future<Submitted> submit(NewTask task) {
    if (task == null || task.spec() == null || task.priority() == null || task.maxAttempts() < 1) {
      return Future.failedFuture(Failure.badRequest("invalid_task", "a task needs a spec, a priority and max_attempts >= 1"));
    }
    String id = UUID.randomUUID().toString();
    return write(c -> insert(c, id, task)).onSuccess(s -> {
      if (s.created()) {
        signal.wakeAt(s.task().runAt());
      }
    });
  }

  private Submitted insert(Connection c, String id, NewTask t) throws SQLException {
    if (t.idempotencyKey() != null) {
      // also finds an earlier submission of the same group: it is in the transaction already
      Optional<Task> earlier = one(c, BY_KEY, t.idempotencyKey(), t.subject());
      if (earlier.isPresent()) {
        return new Submitted(earlier.get(), false);
      }
    }
    long now = now();
    long runAt = Math.max(t.runAt(), now);
    update(c, INSERT, id, seq.incrementAndGet(), t.priority().ordinal(), t.subject(), t.idempotencyKey(), now, now, runAt,
        t.spec().encode(), t.maxAttempts());
    return new Submitted(new Task(id, t.spec().copy(), t.priority(), QUEUED, 0, t.maxAttempts(), 0, now, now, runAt, null, null,
        t.subject(), null), true);
  }

  /** How many transactions have written (so a test can see that writes are grouped). */
  long commits() {
    return writes.commits();
  }

  // ---------------------------------------------------------------------------------------------
  // leases

  @Override
  public Future<List<Lease>> lease(String worker, int max, Duration visibility) {
    if (max <= 0) {
      return Future.succeededFuture(List.of());
    }
    String owner = worker == null || worker.isEmpty() ? "worker" : worker;
    return write(c -> {
      long now = now();
      long until = now + visibility.toMillis();
      Map<Priority, ArrayDeque<String>> runnable = new EnumMap<>(Priority.class);
      try (PreparedStatement ps = c.prepareStatement(RUNNABLE)) {
        for (Priority p : Priority.values()) {
          ArrayDeque<String> ids = new ArrayDeque<>();
          ps.setInt(1, p.ordinal());
          ps.setLong(2, now);
          ps.setInt(3, max);
          try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
              ids.add(rs.getString(1));
            }
          }
          runnable.put(p, ids);
        }
      }
      List<Lease> leases = new ArrayList<>();
      try (PreparedStatement start = c.prepareStatement(START)) {
        while (leases.size() < max) {
          Priority p = nextPriority(runnable);
          if (p == null) {
            break;
          }
          String id = runnable.get(p).poll();
          String token = UUID.randomUUID().toString();
          start.setString(1, owner);
          start.setString(2, token);
          start.setLong(3, until);
          start.setString(4, instance);
          start.setLong(5, now);
          start.setString(6, id);
          start.executeUpdate();
          leases.add(new Lease(one(c, BY_ID, id).orElseThrow(), owner, token, until));
        }
      }
      return leases;
    });
  }

  /** The next slot of the rotation whose priority has runnable work; null when none has. */
  private Priority nextPriority(Map<Priority, ArrayDeque<String>> runnable) {
    for (int i = 0; i < Rotation.SLOTS.size(); i++) {
      Priority p = Rotation.SLOTS.get(Math.floorMod(slot.getAndIncrement(), Rotation.SLOTS.size()));
      if (!runnable.get(p).isEmpty()) {
        return p;
      }
    }
    return null;
  }

  @Override
  public Future<Fenced> extend(Lease lease, Duration visibility) {
    return fenced(lease, (c, now, attempts, maxAttempts) -> {
      update(c, EXTEND, now + visibility.toMillis(), lease.task().id());
      return 0;
    });
  }

  @Override
  public Future<Fenced> saveResult(Lease lease, String result, JsonArray trace) {
    return fenced(lease, (c, now, attempts, maxAttempts) -> {
      update(c, SAVE_RESULT, result, trace == null ? null : trace.encode(), now, lease.task().id());
      return 0;
    });
  }

  @Override
  public Future<Fenced> complete(Lease lease) {
    return fenced(lease, (c, now, attempts, maxAttempts) -> {
      update(c, SUCCEED, now, lease.task().id());
      return 0;
    });
  }

  @Override
  public Future<Fenced> fail(Lease lease, String error, long retryAt, JsonArray trace) {
    return fenced(lease, (c, now, attempts, maxAttempts) -> {
      if (trace != null) {
        update(c, SAVE_TRACE, trace.encode(), lease.task().id());
      }
      if (retryAt > 0 && attempts < maxAttempts) {
        long at = Math.max(retryAt, now);
        update(c, REQUEUE, error, at, 0, now, lease.task().id());
        return at;
      }
      update(c, FAIL, error, now, lease.task().id());
      return 0;
    });
  }

  @Override
  public Future<Fenced> release(Lease lease) {
    return fenced(lease, (c, now, attempts, maxAttempts) -> {
      update(c, REQUEUE, null, now, 1, now, lease.task().id());
      return now;
    });
  }

  /** Runs {@code change} only while the task is still this lease's; the check and the change are one transaction. */
  private Future<Fenced> fenced(Lease lease, LeasedChange change) {
    return write(c -> {
      try (PreparedStatement ps = c.prepareStatement(FENCE)) {
        ps.setString(1, lease.task().id());
        try (ResultSet rs = ps.executeQuery()) {
          if (!rs.next() || !lease.token().equals(rs.getString(2))) {
            return new Outcome(Fenced.LEASE_LOST, 0);
          }
          String status = rs.getString(1);
          if (CANCELLED.equals(status)) {
            return new Outcome(Fenced.CANCELLED, 0);
          }
          if (!RUNNING.equals(status)) {
            return new Outcome(Fenced.LEASE_LOST, 0);
          }
          int attempts = rs.getInt(3);
          int maxAttempts = rs.getInt(4);
          rs.close();
          return new Outcome(Fenced.OK, change.apply(c, now(), attempts, maxAttempts));
        }
      }
    }).map(outcome -> {
      if (outcome.wakeAt() > 0) {
        signal.wakeAt(outcome.wakeAt());
      }
      return outcome.fenced();
    });
  }

  @Override
  public Future<Integer> reclaim() {
    return write(c -> reclaim(c, EXPIRED, null)).map(n -> {
      if (n > 0) {
        signal.wakeAll();
      }
      return n;
    });
  }

  /**
   * Expired (or foreign) leases back in line, the lost run not counted as an attempt (the task did
   * not fail, its worker died); a task that lost {@code maxLost} workers fails instead.
   */
  private int reclaim(Connection c, String which, String instanceArg) throws SQLException {
    long now = now();
    record Expired(String id, int attempts, int lost) {
    }
    List<Expired> expired = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement(which)) {
      if (instanceArg != null) {
        ps.setString(1, instanceArg);
      } else {
        ps.setLong(1, now);
      }
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          expired.add(new Expired(rs.getString(1), rs.getInt(2), rs.getInt(3)));
        }
      }
    }
    for (Expired e : expired) {
      int lost = e.lost() + 1;
      // rows left running by the previous version may not have counted their run
      update(c, LOST, lost, Math.min(1, e.attempts()), e.id());
      if (lost >= maxLost) {
        update(c, FAIL, lostError(lost), now, e.id());
      } else {
        update(c, REQUEUE, null, now, 0, now, e.id());
      }
    }
    return expired.size();
  }

  /** The error of a task failed by {@code queue.max_lost}; the same words on both profiles. */
  static String lostError(int lost) {
    return "worker lost " + lost + " times (queue.max_lost)";
  }

  // ---------------------------------------------------------------------------------------------
  // by hand

  @Override
  public Future<Changed> cancel(String id) {
    return write(c -> {
      Optional<Task> task = one(c, BY_ID, id);
      if (task.isEmpty()) {
        return new Changed(Change.NOT_FOUND, null);
      }
      if (TaskQueue.finished(task.get().status())) {
        return new Changed(Change.CONFLICT, task.get());
      }
      update(c, CANCEL, now(), id);
      return new Changed(Change.DONE, one(c, BY_ID, id).orElseThrow());
    });
  }

  @Override
  public Future<Changed> retry(String id) {
    return write(c -> {
      Optional<Task> task = one(c, BY_ID, id);
      if (task.isEmpty()) {
        return new Changed(Change.NOT_FOUND, null);
      }
      String status = task.get().status();
      if (!FAILED.equals(status) && !CANCELLED.equals(status)) {
        return new Changed(Change.CONFLICT, task.get());
      }
      long now = now();
      update(c, RETRY, now, now, id);
      return new Changed(Change.DONE, one(c, BY_ID, id).orElseThrow());
    }).onSuccess(changed -> {
      if (changed.change() == Change.DONE) {
        signal.wakeAll();
      }
    });
  }

  // ---------------------------------------------------------------------------------------------
  // reading

  @Override
  public Future<Optional<Task>> get(String id) {
    return work(() -> store.run(c -> one(c, BY_ID, id)));
  }

  @Override
  public Future<Page> list(String status, Priority priority, int limit, String cursor) {
    if (status != null && !STATUSES.contains(status)) {
      return Future.failedFuture(Failure.badRequest("invalid_status", "status must be one of " + String.join(", ",
          List.of(QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)) + ", got '" + status + "'"));
    }
    long below;
    try {
      below = SeqCursor.TASKS.decode(cursor);
    } catch (Failure bad) {
      return Future.failedFuture(bad);
    }
    int n = Math.max(1, Math.min(limit, MAX_LIST));
    StringBuilder sql = new StringBuilder("SELECT " + LIST_ROW + " FROM tasks WHERE seq < ?");
    List<Object> args = new ArrayList<>(List.of(below));
    if (status != null) {
      sql.append(" AND status = ?");
      args.add(status);
    }
    if (priority != null) {
      sql.append(" AND priority = ?");
      args.add(priority.ordinal());
    }
    // one more than asked: whether there is a next page
    sql.append(" ORDER BY seq DESC LIMIT ?");
    args.add(n + 1);
    return work(() -> store.run(c -> {
      List<Task> tasks = new ArrayList<>();
      List<Long> seqs = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement(sql.toString())) {
        for (int i = 0; i < args.size(); i++) {
          ps.setObject(i + 1, args.get(i));
        }
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            tasks.add(task(rs));
            seqs.add(rs.getLong("seq"));
          }
        }
      }
      if (tasks.size() <= n) {
        return new Page(tasks, null);
      }
      return new Page(List.copyOf(tasks.subList(0, n)), SeqCursor.TASKS.encode(seqs.get(n - 1)));
    }));
  }

  @Override
  public Future<Stats> stats() {
    return work(() -> store.run(c -> {
      long now = now();
      Map<Priority, Depth> byPriority = new EnumMap<>(Priority.class);
      for (Priority p : Priority.values()) {
        long waiting;
        long oldest;
        try (PreparedStatement ps = c.prepareStatement(DEPTH)) {
          ps.setInt(1, p.ordinal());
          ps.setLong(2, now);
          try (ResultSet rs = ps.executeQuery()) {
            rs.next();
            waiting = rs.getLong(1);
            oldest = rs.getObject(2) == null ? now : rs.getLong(2);
          }
        }
        long scheduled;
        try (PreparedStatement ps = c.prepareStatement(SCHEDULED)) {
          ps.setInt(1, p.ordinal());
          ps.setLong(2, now);
          try (ResultSet rs = ps.executeQuery()) {
            rs.next();
            scheduled = rs.getLong(1);
          }
        }
        byPriority.put(p, new Depth(waiting, scheduled, Math.max(0, now - oldest) / 1000.0));
      }
      long running;
      try (PreparedStatement ps = c.prepareStatement(RUNNING_COUNT); ResultSet rs = ps.executeQuery()) {
        rs.next();
        running = rs.getLong(1);
      }
      return new Stats(byPriority, running);
    }));
  }

  @Override
  public Future<Integer> purge(long before) {
    return work(() -> purgeFrom(before, 0));
  }

  private Future<Integer> purgeFrom(long before, int sofar) {
    return writes.submit(c -> {
      try (PreparedStatement ps = c.prepareStatement(PURGE)) {
        ps.setLong(1, before);
        ps.setInt(2, PURGE_CHUNK);
        return ps.executeUpdate();
      }
    }).compose(n -> n < PURGE_CHUNK ? Future.succeededFuture(sofar + n) : purgeFrom(before, sofar + n));
  }

  @Override
  public Future<Void> awaitWork(long maxMillis) {
    // waiting first, then looking: whatever is committed after the look wakes this waiter
    Future<Void> woken = signal.await(maxMillis);
    if (!closed) {
      store.run(c -> {
        long due = Long.MAX_VALUE;
        try (PreparedStatement ps = c.prepareStatement(NEXT_DUE)) {
          for (Priority p : Priority.values()) {
            ps.setInt(1, p.ordinal());
            try (ResultSet rs = ps.executeQuery()) {
              if (rs.next() && rs.getObject(1) != null) {
                due = Math.min(due, rs.getLong(1));
              }
            }
          }
        }
        return due;
      }).onSuccess(due -> {
        if (due != Long.MAX_VALUE) {
          signal.wakeAt(due);
        }
      });
    }
    return woken;
  }

  @Override
  public Future<Void> ping() {
    return work(() -> store.ping().mapEmpty());
  }

  /** Stops waiting workers; the store is the caller's to close (after this). */
  @Override
  public Future<Void> close() {
    closed = true;
    signal.close();
    return Future.succeededFuture();
  }

  // ---------------------------------------------------------------------------------------------

  /** A change, committed with the others that arrive meanwhile. */
  private <T> Future<T> write(EmbeddedStore.Work<T> change) {
    return work(() -> writes.submit(change));
  }

  /** A store call, refused once closed, with its failures in the shape callers map to a status. */
  private <T> Future<T> work(java.util.function.Supplier<Future<T>> call) {
    if (closed) {
      return Future.failedFuture(closedFailure());
    }
    return call.get().recover(EmbeddedTaskQueue::unavailable);
  }

  private static <T> Future<T> unavailable(Throwable t) {
    return Future.failedFuture(failure(t));
  }

  private static Failure failure(Throwable t) {
    if (t instanceof Failure f) {
      return f;
    }
    if (t instanceof SQLException || t.getCause() instanceof SQLException) {
      return Failure.unavailable("store_unavailable", "the task store is unavailable: " + t.getMessage());
    }
    return Failure.internal("the task store failed: " + t);
  }

  private static Failure closedFailure() {
    return Failure.unavailable("store_unavailable", "the task store is unavailable: the queue is closed");
  }

  private static boolean hasColumn(Connection c, String column) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pragma_table_info('tasks') WHERE name = ?")) {
      ps.setString(1, column);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next();
      }
    }
  }

  private static void update(Connection c, String sql, Object... args) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
      ps.executeUpdate();
    }
  }

  private static Optional<Task> one(Connection c, String sql, String... args) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setString(i + 1, args[i]);
      }
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(task(rs)) : Optional.empty();
      }
    }
  }

  private static Task task(ResultSet rs) throws SQLException {
    String spec = rs.getString("spec");
    return new Task(rs.getString("id"), spec != null ? new JsonObject(spec) : legacySpec(rs),
        Priority.values()[rs.getInt("priority")], rs.getString("status"), rs.getInt("attempts"), rs.getInt("max_attempts"),
        rs.getInt("lost"), rs.getLong("created_at"), rs.getLong("updated_at"), rs.getLong("run_at"), rs.getString("result"),
        rs.getString("error"), rs.getString("subject"), trace(rs.getString("trace")));
  }

  /** A stored trace; one that does not read (a hand-edited row) is no reason to fail reading the task. */
  static JsonArray trace(String stored) {
    if (stored == null || stored.isEmpty()) {
      return null;
    }
    try {
      return new JsonArray(stored);
    } catch (RuntimeException e) {
      return null;
    }
  }

  /** A row of the previous version: its task was in columns of its own. */
  private static JsonObject legacySpec(ResultSet rs) throws SQLException {
    JsonObject spec = new JsonObject().put("input", rs.getString("input"));
    if (rs.getString("model") != null) {
      spec.put("model", rs.getString("model"));
    }
    spec.put("channels", new JsonArray(rs.getString("channels")));
    if (rs.getString("conversation") != null) {
      spec.put("conversation", new JsonObject().put("key", rs.getString("conversation"))
          .put("turns", rs.getInt("history_turns")));
    }
    if (rs.getString("memory_scopes") != null) {
      spec.put("memory_scopes", new JsonArray(rs.getString("memory_scopes")));
    }
    return spec;
  }

  private static long now() {
    return System.currentTimeMillis();
  }
}
