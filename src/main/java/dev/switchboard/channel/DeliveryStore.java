package dev.switchboard.channel;

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

/**
 * Delivery records in the embedded store: one per push, written before the first attempt so that
 * a push accepted is a push that survives a restart. All SQL of the channel component is here.
 */
final class DeliveryStore {

  static final String PENDING = "pending";
  static final String DELIVERED = "delivered";
  static final String FAILED = "failed";
  static final String DEAD = "dead";

  private static final String[] SCHEMA = {
      """
      CREATE TABLE IF NOT EXISTS deliveries (
        id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        task_id TEXT,
        channel TEXT NOT NULL,
        bot TEXT NOT NULL,
        message TEXT NOT NULL,
        address TEXT,
        body TEXT,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        response TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL)""",
      "CREATE INDEX IF NOT EXISTS deliveries_task ON deliveries (task_id)",
      "CREATE INDEX IF NOT EXISTS deliveries_status ON deliveries (status, seq)",
      // one push per task and bot: a task that runs again after a crash does not push twice
      "CREATE UNIQUE INDEX IF NOT EXISTS deliveries_once ON deliveries (task_id, channel, bot) WHERE task_id IS NOT NULL",
  };

  private static final String COLUMNS = "id, seq, task_id, channel, bot, message, address, body, status, attempts, response, created_at, updated_at";
  private static final String INSERT = """
      INSERT INTO deliveries (id, seq, task_id, channel, bot, message, address, body, status, attempts, response, created_at, updated_at)
      VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM deliveries), ?, ?, ?, ?, ?, ?, 'pending', 0, NULL, ?, ?)""";
  private static final String BY_ID = "SELECT " + COLUMNS + " FROM deliveries WHERE id = ?";
  private static final String BY_TASK_TARGET = "SELECT " + COLUMNS + " FROM deliveries WHERE task_id = ? AND channel = ? AND bot = ?";
  private static final String OF_TASK = "SELECT " + COLUMNS + " FROM deliveries WHERE task_id = ? ORDER BY seq";
  private static final String PENDING_ALL = "SELECT " + COLUMNS + " FROM deliveries WHERE status = 'pending' ORDER BY seq";
  private static final String ATTEMPTED = "UPDATE deliveries SET attempts = ?, response = ?, status = ?, updated_at = ? WHERE id = ?";
  private static final String REOPEN = "UPDATE deliveries SET status = 'pending', updated_at = ? WHERE id = ? AND status IN ('failed', 'dead')";

  /** A record as the push loop needs it. */
  /** {@code body}: a platform-native message to send instead of {@code message}'s text, or null. */
  record Record(String id, String taskId, String channel, String bot, String message, JsonObject address, JsonObject body,
                String status, int attempts) {
  }

  private final EmbeddedStore store;

  DeliveryStore(EmbeddedStore store) {
    this.store = store;
  }

  EmbeddedStore store() {
    return store;
  }

  Future<Void> init() {
    return store.transaction(c -> {
      // the first builds kept deliveries in a table of another shape: keep it aside, start afresh
      boolean legacy = false;
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("PRAGMA table_info(deliveries)")) {
        boolean any = false;
        boolean seq = false;
        while (rs.next()) {
          any = true;
          seq |= "seq".equals(rs.getString("name"));
        }
        legacy = any && !seq;
      }
      if (legacy) {
        try (Statement s = c.createStatement()) {
          s.execute("DROP INDEX IF EXISTS deliveries_task");
          s.execute("ALTER TABLE deliveries RENAME TO deliveries_legacy_" + System.currentTimeMillis());
        }
      }
      EmbeddedStore.execute(c, SCHEMA);
      // columns added after the table was first released: older files get them here
      EmbeddedStore.ensureColumns(c, "deliveries", "address TEXT", "body TEXT");
      return null;
    });
  }

  /** A new pending record, or the one this task already has for this bot. */
  Future<Record> open(String taskId, String channel, String bot, String message, JsonObject address, JsonObject body) {
    return store.transaction(c -> {
      if (taskId != null) {
        Optional<Record> existing = one(c, BY_TASK_TARGET, taskId, channel, bot);
        if (existing.isPresent()) {
          return existing.get();
        }
      }
      String id = UUID.randomUUID().toString();
      long now = System.currentTimeMillis();
      try (PreparedStatement ps = c.prepareStatement(INSERT)) {
        ps.setString(1, id);
        ps.setString(2, taskId);
        ps.setString(3, channel);
        ps.setString(4, bot);
        ps.setString(5, message);
        ps.setString(6, address == null ? null : address.encode());
        ps.setString(7, body == null ? null : body.encode());
        ps.setLong(8, now);
        ps.setLong(9, now);
        ps.executeUpdate();
      }
      return one(c, BY_ID, id).orElseThrow();
    });
  }

  /** After each attempt: the count, the platform's last answer, and the status (pending while retrying). */
  Future<Void> attempted(String id, int attempts, JsonObject response, String status) {
    return store.run(c -> {
      try (PreparedStatement ps = c.prepareStatement(ATTEMPTED)) {
        ps.setInt(1, attempts);
        ps.setString(2, response == null ? null : response.encode());
        ps.setString(3, status);
        ps.setLong(4, System.currentTimeMillis());
        ps.setString(5, id);
        ps.executeUpdate();
      }
      return null;
    });
  }

  /** Puts a failed or dead delivery back to pending; empty when it is not in one of those states. */
  Future<Optional<Record>> reopen(String id) {
    return store.transaction(c -> {
      try (PreparedStatement ps = c.prepareStatement(REOPEN)) {
        ps.setLong(1, System.currentTimeMillis());
        ps.setString(2, id);
        if (ps.executeUpdate() == 0) {
          return Optional.empty();
        }
      }
      return one(c, BY_ID, id);
    });
  }

  Future<List<Record>> pending() {
    return store.run(c -> {
      List<Record> out = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement(PENDING_ALL); ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(record(rs));
        }
      }
      return out;
    });
  }

  Future<Optional<JsonObject>> view(String id) {
    return store.run(c -> {
      try (PreparedStatement ps = c.prepareStatement(BY_ID)) {
        ps.setString(1, id);
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next() ? Optional.of(json(rs)) : Optional.<JsonObject>empty();
        }
      }
    });
  }

  Future<JsonArray> ofTask(String taskId) {
    return store.run(c -> {
      JsonArray out = new JsonArray();
      try (PreparedStatement ps = c.prepareStatement(OF_TASK)) {
        ps.setString(1, taskId);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.add(json(rs));
          }
        }
      }
      return out;
    });
  }

  /** A page of records matching the filters, oldest first, after {@code cursor} (a seq). */
  Future<JsonObject> list(String status, String channel, String bot, long cursor, int limit) {
    return store.run(c -> {
      StringBuilder sql = new StringBuilder("SELECT " + COLUMNS + " FROM deliveries WHERE seq > ?");
      List<String> args = new ArrayList<>();
      if (status != null) {
        sql.append(" AND status = ?");
        args.add(status);
      }
      if (channel != null) {
        sql.append(" AND channel = ?");
        args.add(channel);
      }
      if (bot != null) {
        sql.append(" AND bot = ?");
        args.add(bot);
      }
      sql.append(" ORDER BY seq LIMIT ?");
      JsonArray data = new JsonArray();
      long last = -1;
      try (PreparedStatement ps = c.prepareStatement(sql.toString())) {
        ps.setLong(1, cursor);
        for (int i = 0; i < args.size(); i++) {
          ps.setString(i + 2, args.get(i));
        }
        ps.setInt(args.size() + 2, limit);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            last = rs.getLong("seq");
            data.add(json(rs));
          }
        }
      }
      return new JsonObject().put("data", data)
          .put("next_cursor", data.size() == limit ? String.valueOf(last) : null);
    });
  }

  private static Optional<Record> one(Connection c, String sql, String... args) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setString(i + 1, args[i]);
      }
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(record(rs)) : Optional.empty();
      }
    }
  }

  private static Record record(ResultSet rs) throws SQLException {
    String address = rs.getString("address");
    String body = rs.getString("body");
    return new Record(rs.getString("id"), rs.getString("task_id"), rs.getString("channel"), rs.getString("bot"),
        rs.getString("message"), address == null ? null : new JsonObject(address), body == null ? null : new JsonObject(body),
        rs.getString("status"), rs.getInt("attempts"));
  }

  private static JsonObject json(ResultSet rs) throws SQLException {
    String response = rs.getString("response");
    return new JsonObject()
        .put("id", rs.getString("id"))
        .put("task_id", rs.getString("task_id"))
        .put("channel", rs.getString("channel"))
        .put("bot", rs.getString("bot"))
        .put("status", rs.getString("status"))
        .put("attempts", rs.getInt("attempts"))
        .put("response", response == null ? null : new JsonObject(response))
        .put("created_at", Instant.ofEpochMilli(rs.getLong("created_at")).toString())
        .put("updated_at", Instant.ofEpochMilli(rs.getLong("updated_at")).toString());
  }
}
