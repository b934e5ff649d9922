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
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/**
 * Delivery records of the embedded profile, in the store under the data dir. One instance owns a
 * data dir (a lock sees to it), so the leases here only ever change hands at a start: whatever
 * lease the file holds belongs to a process that is gone, and {@link #init} gives them all back.
 */
final class EmbeddedDeliveries implements Deliveries {

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
  /** After the columns that came later exist. */
  private static final String[] LATER_INDEXES = {
      "CREATE INDEX IF NOT EXISTS deliveries_finished ON deliveries (status, updated_at)",
  };

  private static final String COLUMNS = "id, seq, task_id, channel, bot, message, address, body, status, attempts, response, "
      + "created_at, updated_at, owner, lease_until, fence";
  private static final String INSERT = """
      INSERT INTO deliveries (id, seq, task_id, channel, bot, message, address, body, status, attempts, response, created_at,
                              updated_at, owner, lease_until, fence)
      VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM deliveries), ?, ?, ?, ?, ?, ?, 'pending', 0, NULL, ?, ?, ?, ?, 1)""";
  private static final String BY_ID = "SELECT " + COLUMNS + " FROM deliveries WHERE id = ?";
  private static final String BY_TASK_TARGET = "SELECT " + COLUMNS + " FROM deliveries WHERE task_id = ? AND channel = ? AND bot = ?";
  private static final String OF_TASK = "SELECT " + COLUMNS + " FROM deliveries WHERE task_id = ? ORDER BY seq";
  private static final String ACQUIRE = "UPDATE deliveries SET owner = ?, lease_until = ?, fence = fence + 1 WHERE id = ?";
  private static final String RENEW = """
      UPDATE deliveries SET lease_until = ? WHERE id = ? AND fence = ? AND owner = ? AND status = 'pending'""";
  private static final String ATTEMPTED = """
      UPDATE deliveries SET attempts = ?, response = ?, status = ?, updated_at = ?,
        owner = CASE WHEN ? = 'pending' THEN owner ELSE NULL END,
        lease_until = CASE WHEN ? = 'pending' THEN lease_until ELSE 0 END
      WHERE id = ? AND fence = ? AND status = 'pending'""";
  private static final String RELEASE = "UPDATE deliveries SET lease_until = 0 WHERE id = ? AND fence = ? AND owner = ? AND status = 'pending'";
  private static final String EXPIRED = "SELECT id FROM deliveries WHERE status = 'pending' AND lease_until <= ? ORDER BY seq LIMIT ?";
  private static final String REOPEN = """
      UPDATE deliveries SET status = 'pending', updated_at = ?, owner = ?, lease_until = ?, fence = fence + 1
      WHERE id = ? AND status IN ('failed', 'dead')""";
  private static final String SWEEP = "DELETE FROM deliveries WHERE status IN ('delivered', 'failed', 'dead') AND updated_at <= ?";

  /** One row with what the lease decisions need besides the record. */
  private record Row(Record record, String owner, long leaseUntil, JsonObject view) {
  }

  private final EmbeddedStore store;
  private final String owner;
  private final long leaseMs;
  private final long retentionMs;

  EmbeddedDeliveries(EmbeddedStore store, String owner, Duration lease, Duration retention) {
    this.store = store;
    this.owner = owner;
    this.leaseMs = lease.toMillis();
    this.retentionMs = retention.toMillis();
  }

  EmbeddedStore store() {
    return store;
  }

  @Override
  public Future<Void> init() {
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
      EmbeddedStore.ensureColumns(c, "deliveries", "address TEXT", "body TEXT", "owner TEXT",
          "lease_until INTEGER NOT NULL DEFAULT 0", "fence INTEGER NOT NULL DEFAULT 0");
      EmbeddedStore.execute(c, LATER_INDEXES);
      // one instance per data dir: leases left in the file are a stopped process's, free to take
      try (Statement s = c.createStatement()) {
        s.execute("UPDATE deliveries SET lease_until = 0 WHERE status = 'pending' AND lease_until > 0");
      }
      return null;
    });
  }

  @Override
  public Future<Opened> open(String taskId, String channel, String bot, String message, JsonObject address, JsonObject body) {
    return store.transaction(c -> {
      long now = System.currentTimeMillis();
      if (taskId != null) {
        Optional<Row> existing = one(c, BY_TASK_TARGET, taskId, channel, bot);
        if (existing.isPresent()) {
          Row row = existing.get();
          if (!PENDING.equals(row.record().status())) {
            return new Opened(row.record(), false, row.view());
          }
          if (owner.equals(row.owner())) {
            return new Opened(row.record(), true, row.view());
          }
          if (row.leaseUntil() > now) {
            return new Opened(row.record(), false, row.view());
          }
          acquire(c, row.record().id(), now);
          Row taken = one(c, BY_ID, row.record().id()).orElseThrow();
          return new Opened(taken.record(), true, taken.view());
        }
      }
      String id = UUID.randomUUID().toString();
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
        ps.setString(10, owner);
        ps.setLong(11, now + leaseMs);
        ps.executeUpdate();
      }
      Row row = one(c, BY_ID, id).orElseThrow();
      return new Opened(row.record(), true, row.view());
    });
  }

  private void acquire(Connection c, String id, long now) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(ACQUIRE)) {
      ps.setString(1, owner);
      ps.setLong(2, now + leaseMs);
      ps.setString(3, id);
      ps.executeUpdate();
    }
  }

  @Override
  public Future<Set<String>> renew(Map<String, Long> leases) {
    if (leases.isEmpty()) {
      return Future.succeededFuture(Set.of());
    }
    return store.transaction(c -> {
      Set<String> held = new HashSet<>();
      long until = System.currentTimeMillis() + leaseMs;
      try (PreparedStatement ps = c.prepareStatement(RENEW)) {
        for (Map.Entry<String, Long> lease : leases.entrySet()) {
          ps.setLong(1, until);
          ps.setString(2, lease.getKey());
          ps.setLong(3, lease.getValue());
          ps.setString(4, owner);
          if (ps.executeUpdate() == 1) {
            held.add(lease.getKey());
          }
        }
      }
      return held;
    });
  }

  @Override
  public Future<Boolean> attempted(String id, long fence, int attempts, JsonObject response, String status) {
    return store.run(c -> {
      try (PreparedStatement ps = c.prepareStatement(ATTEMPTED)) {
        ps.setInt(1, attempts);
        ps.setString(2, response == null ? null : response.encode());
        ps.setString(3, status);
        ps.setLong(4, System.currentTimeMillis());
        ps.setString(5, status);
        ps.setString(6, status);
        ps.setString(7, id);
        ps.setLong(8, fence);
        return ps.executeUpdate() == 1;
      }
    });
  }

  @Override
  public Future<Void> release(Map<String, Long> leases) {
    if (leases.isEmpty()) {
      return Future.succeededFuture();
    }
    return store.transaction(c -> {
      try (PreparedStatement ps = c.prepareStatement(RELEASE)) {
        for (Map.Entry<String, Long> lease : leases.entrySet()) {
          ps.setString(1, lease.getKey());
          ps.setLong(2, lease.getValue());
          ps.setString(3, owner);
          ps.executeUpdate();
        }
      }
      return null;
    });
  }

  @Override
  public Future<List<Record>> takeOver(int max) {
    return store.transaction(c -> {
      long now = System.currentTimeMillis();
      List<String> ids = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement(EXPIRED)) {
        ps.setLong(1, now);
        ps.setInt(2, max);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            ids.add(rs.getString(1));
          }
        }
      }
      List<Record> out = new ArrayList<>();
      for (String id : ids) {
        acquire(c, id, now);
        out.add(one(c, BY_ID, id).orElseThrow().record());
      }
      return out;
    });
  }

  @Override
  public Future<Optional<Record>> reopen(String id) {
    return store.transaction(c -> {
      long now = System.currentTimeMillis();
      try (PreparedStatement ps = c.prepareStatement(REOPEN)) {
        ps.setLong(1, now);
        ps.setString(2, owner);
        ps.setLong(3, now + leaseMs);
        ps.setString(4, id);
        if (ps.executeUpdate() == 0) {
          return Optional.empty();
        }
      }
      return one(c, BY_ID, id).map(Row::record);
    });
  }

  @Override
  public Future<Optional<JsonObject>> view(String id) {
    return store.run(c -> one(c, BY_ID, id).map(Row::view));
  }

  @Override
  public Future<JsonArray> ofTask(String taskId) {
    return store.run(c -> {
      JsonArray out = new JsonArray();
      try (PreparedStatement ps = c.prepareStatement(OF_TASK)) {
        ps.setString(1, taskId);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.add(row(rs).view());
          }
        }
      }
      return out;
    });
  }

  @Override
  public Future<JsonObject> list(String status, String channel, String bot, long cursor, int limit) {
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
            data.add(row(rs).view());
          }
        }
      }
      return new JsonObject().put("data", data)
          .put("next_cursor", data.size() == limit ? String.valueOf(last) : null);
    });
  }

  @Override
  public Future<Integer> sweep() {
    return store.run(c -> {
      try (PreparedStatement ps = c.prepareStatement(SWEEP)) {
        ps.setLong(1, System.currentTimeMillis() - retentionMs);
        return ps.executeUpdate();
      }
    });
  }

  @Override
  public Future<Void> ping() {
    return store.ping().mapEmpty();
  }

  @Override
  public Future<Void> close() {
    return store.close();
  }

  private static Optional<Row> one(Connection c, String sql, String... args) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setString(i + 1, args[i]);
      }
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(row(rs)) : Optional.empty();
      }
    }
  }

  private static Row row(ResultSet rs) throws SQLException {
    String address = rs.getString("address");
    String body = rs.getString("body");
    String response = rs.getString("response");
    Record record = new Record(rs.getString("id"), rs.getString("task_id"), rs.getString("channel"), rs.getString("bot"),
        rs.getString("message"), address == null ? null : new JsonObject(address), body == null ? null : new JsonObject(body),
        rs.getString("status"), rs.getInt("attempts"), rs.getLong("fence"));
    JsonObject view = Deliveries.view(record.id(), record.taskId(), record.channel(), record.bot(), record.status(),
        record.attempts(), response == null ? null : new JsonObject(response), rs.getLong("created_at"), rs.getLong("updated_at"));
    return new Row(record, rs.getString("owner"), rs.getLong("lease_until"), view);
  }
}
