package dev.switchboard.task;

import dev.switchboard.bus.TaskSubmission;
import dev.switchboard.store.EmbeddedStore;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/** Task and delivery records in the embedded store. All SQL of the task component is here. */
final class TaskStore {

  static final String QUEUED = "queued";
  static final String RUNNING = "running";
  static final String SUCCEEDED = "succeeded";
  static final String FAILED = "failed";

  private static final String[] SCHEMA = {
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
      "CREATE INDEX IF NOT EXISTS tasks_status ON tasks (status, priority, seq)",
      // columns added after the first release of the schema are in COLUMNS_ADDED
      // a key is one caller's: another subject using the same key gets its own task
      "CREATE UNIQUE INDEX IF NOT EXISTS tasks_idempotency ON tasks (subject, idempotency_key) WHERE idempotency_key IS NOT NULL",
  };

  private static final String INSERT = """
      INSERT INTO tasks (id, seq, status, priority, input, model, channels, subject, idempotency_key, created_at, updated_at,
                         conversation, history_turns, run_at, memory_scopes)
      VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM tasks), 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""";
  private static final String BY_ID = "SELECT * FROM tasks WHERE id = ?";
  private static final String BY_KEY = "SELECT * FROM tasks WHERE idempotency_key = ? AND subject IS ?";
  private static final String REQUEUE_INTERRUPTED = "UPDATE tasks SET status = 'queued', updated_at = ? WHERE status = 'running'";
  private static final String REQUEUE_ONE = "UPDATE tasks SET status = 'queued', updated_at = ? WHERE id = ? AND status = 'running'";
  private static final String PENDING = "SELECT id, priority, seq, created_at, run_at FROM tasks WHERE status = 'queued' ORDER BY priority, seq";
  private static final String START = "UPDATE tasks SET status = 'running', attempts = attempts + 1, updated_at = ? WHERE id = ? AND status = 'queued'";
  private static final String RETRY = "UPDATE tasks SET status = 'queued', error = ?, updated_at = ? WHERE id = ?";
  private static final String FINISH = "UPDATE tasks SET status = ?, result = ?, error = ?, updated_at = ? WHERE id = ?";
  private static final String COUNT_BY_STATUS = "SELECT status, COUNT(*) FROM tasks GROUP BY status";

  /** A task as the worker needs it. */
  record Task(String id, int priority, long seq, String input, String model, List<TaskSubmission.Target> channels,
              String subject, int attempts, long createdAt, TaskSubmission.Conversation conversation,
              List<String> memoryScopes) {
  }

  /** A queued task's place in line. */
  /** {@code runAt}: not before then (epoch ms); 0 or past: now. */
  record Ticket(String id, int priority, long seq, long createdAt, long runAt) {
  }

  private final EmbeddedStore store;

  TaskStore(EmbeddedStore store) {
    this.store = store;
  }

  EmbeddedStore store() {
    return store;
  }

  private static final String[] COLUMNS_ADDED = {
      "conversation TEXT",
      "history_turns INTEGER NOT NULL DEFAULT 0",
      "run_at INTEGER NOT NULL DEFAULT 0",
      "memory_scopes TEXT",
  };

  Future<Void> init() {
    return store.transaction(c -> {
      EmbeddedStore.execute(c, SCHEMA);
      EmbeddedStore.ensureColumns(c, "tasks", COLUMNS_ADDED);
      return null;
    });
  }

  /** Tasks a previous run left running go back in line; then the whole line, in order. */
  Future<List<Ticket>> recover() {
    return store.transaction(c -> {
      try (PreparedStatement ps = c.prepareStatement(REQUEUE_INTERRUPTED)) {
        ps.setLong(1, now());
        ps.executeUpdate();
      }
      List<Ticket> tickets = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement(PENDING); ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          tickets.add(new Ticket(rs.getString(1), rs.getInt(2), rs.getLong(3), rs.getLong(4), rs.getLong(5)));
        }
      }
      return tickets;
    });
  }

  /**
   * Stores a new task; committed before the future completes. With an idempotency key that was
   * seen before, the earlier task is answered instead and {@code created} is false.
   */
  Future<Inserted> insert(TaskSubmission s) {
    return store.transaction(c -> {
      if (s.idempotencyKey() != null) {
        Optional<JsonObject> existing = one(c, BY_KEY, s.idempotencyKey(), s.subject());
        if (existing.isPresent()) {
          return new Inserted(existing.get(), null);
        }
      }
      String id = UUID.randomUUID().toString();
      long now = now();
      JsonArray channels = new JsonArray();
      s.channels().forEach(t -> channels.add(new JsonObject().put("type", t.type()).put("bot", t.bot())
          .put("address", t.address()).put("message", t.message())));
      try (PreparedStatement ps = c.prepareStatement(INSERT)) {
        ps.setString(1, id);
        ps.setInt(2, s.priority().ordinal());
        ps.setString(3, s.input());
        ps.setString(4, s.model());
        ps.setString(5, channels.encode());
        ps.setString(6, s.subject());
        ps.setString(7, s.idempotencyKey());
        ps.setLong(8, now);
        ps.setLong(9, now);
        ps.setString(10, s.conversation() == null ? null : s.conversation().key());
        ps.setInt(11, s.conversation() == null ? 0 : s.conversation().turns());
        ps.setLong(12, now + Math.max(0, s.delayMillis()));
        ps.setString(13, s.memoryScopes().isEmpty() ? null : new JsonArray(new ArrayList<>(s.memoryScopes())).encode());
        ps.executeUpdate();
      }
      JsonObject row = one(c, BY_ID, id).orElseThrow();
      return new Inserted(row, new Ticket(id, s.priority().ordinal(), row.getLong("seq"), now, now + Math.max(0, s.delayMillis())));
    });
  }

  /** {@code ticket} is null when the submission matched an earlier one. */
  record Inserted(JsonObject task, Ticket ticket) {
  }

  /** Marks a queued task running and counts the attempt; empty if it is no longer queued. */
  Future<Optional<Task>> start(String id) {
    return store.transaction(c -> {
      try (PreparedStatement ps = c.prepareStatement(START)) {
        ps.setLong(1, now());
        ps.setString(2, id);
        if (ps.executeUpdate() == 0) {
          return Optional.empty();
        }
      }
      JsonObject row = one(c, BY_ID, id).orElseThrow();
      List<TaskSubmission.Target> targets = new ArrayList<>();
      for (Object o : new JsonArray(row.getString("channels"))) {
        JsonObject t = (JsonObject) o;
        targets.add(new TaskSubmission.Target(t.getString("type"), t.getString("bot"), t.getJsonObject("address"),
            t.getJsonObject("message")));
      }
      return Optional.of(new Task(id, row.getInteger("priority"), row.getLong("seq"), row.getString("input"),
          row.getString("model"), targets, row.getString("subject"), row.getInteger("attempts"), row.getLong("created_at"),
          row.getString("conversation") == null ? null
              : new TaskSubmission.Conversation(row.getString("conversation"), row.getInteger("history_turns")),
          row.getString("memory_scopes") == null ? List.of()
              : new JsonArray(row.getString("memory_scopes")).stream().map(String::valueOf).toList()));
    });
  }

  /** Puts a task that a failed run left behind back in line (no-op when it is already queued or done). */
  Future<Void> requeue(String id) {
    return store.run(c -> {
      try (PreparedStatement ps = c.prepareStatement(REQUEUE_ONE)) {
        ps.setLong(1, now());
        ps.setString(2, id);
        ps.executeUpdate();
      }
      return null;
    });
  }

  Future<Void> retryLater(String id, String error) {
    return store.run(c -> {
      try (PreparedStatement ps = c.prepareStatement(RETRY)) {
        ps.setString(1, error);
        ps.setLong(2, now());
        ps.setString(3, id);
        ps.executeUpdate();
      }
      return null;
    });
  }

  Future<Void> finish(String id, String status, String result, String error) {
    return store.run(c -> {
      try (PreparedStatement ps = c.prepareStatement(FINISH)) {
        ps.setString(1, status);
        ps.setString(2, result);
        ps.setString(3, error);
        ps.setLong(4, now());
        ps.setString(5, id);
        ps.executeUpdate();
      }
      return null;
    });
  }

  /** The API view of a task (deliveries come from the channel component), or empty. */
  Future<Optional<JsonObject>> view(String id) {
    return store.run(c -> one(c, BY_ID, id).map(TaskStore::toView));
  }

  Future<JsonObject> countsByStatus() {
    return store.run(c -> {
      JsonObject counts = new JsonObject();
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(COUNT_BY_STATUS)) {
        while (rs.next()) {
          counts.put(rs.getString(1), rs.getLong(2));
        }
      }
      return counts;
    });
  }

  static JsonObject toView(JsonObject row) {
    return new JsonObject()
        .put("id", row.getString("id"))
        .put("status", row.getString("status"))
        .put("input", row.getString("input"))
        .put("model", row.getString("model"))
        .put("priority", TaskSubmission.Priority.values()[row.getInteger("priority")].label())
        .put("result", row.getString("result"))
        .put("error", row.getString("error"))
        .put("attempts", row.getInteger("attempts"))
        .put("created_at", iso(row.getLong("created_at")))
        .put("run_at", row.getLong("run_at", 0L) > row.getLong("created_at") ? iso(row.getLong("run_at")) : null)
        .put("updated_at", iso(row.getLong("updated_at")));
  }

  private static Optional<JsonObject> one(Connection c, String sql, String... args) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setString(i + 1, args[i]);
      }
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          return Optional.empty();
        }
        JsonObject row = new JsonObject();
        var meta = rs.getMetaData();
        for (int i = 1; i <= meta.getColumnCount(); i++) {
          row.put(meta.getColumnLabel(i), rs.getObject(i));
        }
        return Optional.of(row);
      }
    }
  }

  private static long now() {
    return System.currentTimeMillis();
  }

  private static String iso(long millis) {
    return Instant.ofEpochMilli(millis).toString();
  }
}
