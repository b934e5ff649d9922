package dev.switchboard.events;

import dev.switchboard.store.EmbeddedStore;
import dev.switchboard.store.SeqCursor;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Events of the embedded profile: the {@code events} table of the SQLite file in the data folder,
 * every statement on the store's worker thread. The id is unique, so storing is the claim. One
 * process owns a data folder ({@link dev.switchboard.store.DataDirLock}), so at open every lease
 * is one of a previous process that is gone: they are dropped, and what it had not handed over is
 * due at once instead of after its lease.
 */
public final class EmbeddedEventStore implements EventStore {

  private static final int MAX_LIST = 500;
  /** Purge deletes in chunks, each its own statement, so that other work gets the store in between. */
  private static final int PURGE_CHUNK = 1_000;

  private static final String[] SCHEMA = {
      """
      CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL,
        platform TEXT,
        body TEXT NOT NULL,
        stored_at INTEGER NOT NULL,
        handled_at INTEGER,
        lease_until INTEGER,
        owner TEXT,
        attempts INTEGER NOT NULL DEFAULT 0)""",
      "CREATE INDEX IF NOT EXISTS events_due ON events (lease_until) WHERE handled_at IS NULL",
      "CREATE INDEX IF NOT EXISTS events_type ON events (type, seq)",
      "CREATE INDEX IF NOT EXISTS events_platform ON events (platform, seq)",
      "CREATE INDEX IF NOT EXISTS events_stored ON events (stored_at)",
  };

  private static final String STORE = """
      INSERT INTO events (id, type, platform, body, stored_at, lease_until, owner, attempts)
      VALUES (?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT (id) DO NOTHING""";

  private final EmbeddedStore store;

  private EmbeddedEventStore(EmbeddedStore store) {
    this.store = store;
  }

  /** The table on {@code store}, with the leases of a previous process let go. */
  public static Future<EmbeddedEventStore> open(EmbeddedStore store) {
    return store.run(c -> {
      EmbeddedStore.execute(c, SCHEMA);
      EmbeddedStore.execute(c, "UPDATE events SET lease_until = 0, owner = NULL WHERE handled_at IS NULL AND lease_until > 0");
      return new EmbeddedEventStore(store);
    });
  }

  @Override
  public Future<Boolean> store(JsonObject event, String owner, Duration lease) {
    String body = event.encode();
    return store.run(c -> {
      long now = System.currentTimeMillis();
      try (PreparedStatement ps = c.prepareStatement(STORE)) {
        ps.setString(1, event.getString("id"));
        ps.setString(2, event.getString("type"));
        ps.setString(3, event.getValue("platform") instanceof String p ? p : null);
        ps.setString(4, body);
        ps.setLong(5, now);
        ps.setLong(6, now + lease.toMillis());
        ps.setString(7, owner);
        return ps.executeUpdate() == 1;
      }
    });
  }

  @Override
  public Future<Void> handled(String id) {
    return store.run(c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "UPDATE events SET handled_at = ?, lease_until = NULL, owner = NULL WHERE id = ? AND handled_at IS NULL")) {
        ps.setLong(1, System.currentTimeMillis());
        ps.setString(2, id);
        ps.executeUpdate();
      }
      return null;
    });
  }

  @Override
  public Future<Void> retryAfter(String id, String owner, Duration delay) {
    return store.run(c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "UPDATE events SET lease_until = ? WHERE id = ? AND owner = ? AND handled_at IS NULL")) {
        ps.setLong(1, System.currentTimeMillis() + delay.toMillis());
        ps.setString(2, id);
        ps.setString(3, owner);
        ps.executeUpdate();
      }
      return null;
    });
  }

  @Override
  public Future<List<Due>> due(String owner, Duration lease, int limit) {
    return store.transaction(c -> {
      long now = System.currentTimeMillis();
      List<String> ids = new ArrayList<>();
      List<Due> due = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement("""
          SELECT id, body, attempts FROM events WHERE handled_at IS NULL AND lease_until <= ?
          ORDER BY lease_until, seq LIMIT ?""")) {
        ps.setLong(1, now);
        ps.setInt(2, Math.max(1, limit));
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            ids.add(rs.getString(1));
            due.add(new Due(new JsonObject(rs.getString(2)), rs.getInt(3) + 1));
          }
        }
      }
      try (PreparedStatement ps = c.prepareStatement(
          "UPDATE events SET lease_until = ?, owner = ?, attempts = attempts + 1 WHERE id = ?")) {
        for (String id : ids) {
          ps.setLong(1, now + lease.toMillis());
          ps.setString(2, owner);
          ps.setString(3, id);
          ps.addBatch();
        }
        if (!ids.isEmpty()) {
          ps.executeBatch();
        }
      }
      return due;
    });
  }

  @Override
  public Future<Page> list(Query query) {
    long below = SeqCursor.EVENTS.decode(query.cursor());
    int limit = Math.max(1, Math.min(MAX_LIST, query.limit()));
    return store.run(c -> {
      StringBuilder sql = new StringBuilder("SELECT seq, body, handled_at FROM events WHERE seq < ?");
      List<String> args = new ArrayList<>();
      if (query.type() != null) {
        sql.append(" AND type = ?");
        args.add(query.type());
      }
      if (query.platform() != null) {
        sql.append(" AND platform = ?");
        args.add(query.platform());
      }
      sql.append(" ORDER BY seq DESC LIMIT ?");
      List<JsonObject> data = new ArrayList<>();
      long last = 0;
      boolean more = false;
      try (PreparedStatement ps = c.prepareStatement(sql.toString())) {
        int i = 1;
        ps.setLong(i++, below);
        for (String a : args) {
          ps.setString(i++, a);
        }
        ps.setInt(i, limit + 1);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            if (data.size() == limit) {
              more = true;
              break;
            }
            last = rs.getLong(1);
            long handled = rs.getLong(3);
            Long handledAt = rs.wasNull() ? null : handled;
            data.add(listed(new JsonObject(rs.getString(2)), handledAt));
          }
        }
      }
      return new Page(data, more ? SeqCursor.EVENTS.encode(last) : null);
    });
  }

  /** An event as the list shows it: what was stored, and when the rules took it (null: not yet). */
  static JsonObject listed(JsonObject event, Long handledAt) {
    return event.put("handled_at", handledAt == null ? null : Instant.ofEpochMilli(handledAt).toString());
  }

  @Override
  public Future<Integer> purge(Instant before) {
    return purgeFrom(before.toEpochMilli(), 0);
  }

  private Future<Integer> purgeFrom(long before, int sofar) {
    return store.run(c -> deleteChunk(c, before)).compose(n -> n < PURGE_CHUNK
        ? Future.succeededFuture(sofar + n) : purgeFrom(before, sofar + n));
  }

  private static int deleteChunk(Connection c, long before) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(
        "DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE stored_at < ? LIMIT " + PURGE_CHUNK + ")")) {
      ps.setLong(1, before);
      return ps.executeUpdate();
    }
  }

  @Override
  public Future<Void> ping() {
    return store.ping().mapEmpty();
  }

  @Override
  public Future<Void> close() {
    return store.close();
  }
}
