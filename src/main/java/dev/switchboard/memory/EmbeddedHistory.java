package dev.switchboard.memory;

import dev.switchboard.store.EmbeddedStore;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;

/**
 * Conversation turns of the embedded profile, in the data dir's database, so they survive a
 * restart. A conversation row carries the running summary and when the whole conversation
 * expires; every append pushes that back by the TTL. All SQL of short-term memory is here.
 */
final class EmbeddedHistory implements ShortTermStore {

  private static final String[] SCHEMA = {
      """
      CREATE TABLE IF NOT EXISTS turns (
        conversation TEXT NOT NULL,
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        role TEXT NOT NULL,
        content TEXT NOT NULL,
        created_at INTEGER NOT NULL)""",
      "CREATE INDEX IF NOT EXISTS turns_conversation ON turns (conversation, seq)",
      """
      CREATE TABLE IF NOT EXISTS conversations (
        conversation TEXT PRIMARY KEY,
        summary TEXT NOT NULL DEFAULT '',
        expires_at INTEGER NOT NULL)""",
      "CREATE INDEX IF NOT EXISTS conversations_expiry ON conversations (expires_at)",
      // turns written before conversations had rows: they expire a week after their last turn
      """
      INSERT OR IGNORE INTO conversations (conversation, expires_at)
        SELECT conversation, max(created_at) + 604800000 FROM turns GROUP BY conversation""",
  };
  private static final String LOAD_TURNS = "SELECT role, content FROM turns WHERE conversation = ? ORDER BY seq";
  private static final String LOAD_CONVERSATION = "SELECT summary FROM conversations WHERE conversation = ? AND expires_at > ?";
  private static final String APPEND = "INSERT INTO turns (conversation, role, content, created_at) VALUES (?, ?, ?, ?)";
  private static final String TOUCH = """
      INSERT INTO conversations (conversation, expires_at) VALUES (?, ?)
      ON CONFLICT (conversation) DO UPDATE SET expires_at = excluded.expires_at""";
  private static final String COUNT = "SELECT count(*) FROM turns WHERE conversation = ?";
  private static final String DROP_OLDEST = """
      DELETE FROM turns WHERE seq IN (SELECT seq FROM turns WHERE conversation = ? ORDER BY seq LIMIT ?)""";
  private static final String SET_SUMMARY = """
      INSERT INTO conversations (conversation, summary, expires_at) VALUES (?, ?, ?)
      ON CONFLICT (conversation) DO UPDATE SET summary = excluded.summary, expires_at = excluded.expires_at""";
  private static final String EXPIRED_TURNS = """
      DELETE FROM turns WHERE conversation IN (SELECT conversation FROM conversations WHERE expires_at <= ?)""";
  private static final String EXPIRED = "DELETE FROM conversations WHERE expires_at <= ?";

  private final EmbeddedStore store;

  EmbeddedHistory(EmbeddedStore store) {
    this.store = store;
  }

  Future<Void> init() {
    return store.transaction(c -> {
      EmbeddedStore.execute(c, SCHEMA);
      return null;
    });
  }

  @Override
  public Future<Window> load(String scope) {
    return store.run(c -> {
      String summary;
      try (PreparedStatement ps = c.prepareStatement(LOAD_CONVERSATION)) {
        ps.setString(1, scope);
        ps.setLong(2, System.currentTimeMillis());
        try (ResultSet rs = ps.executeQuery()) {
          if (!rs.next()) {
            return Window.EMPTY;
          }
          summary = rs.getString(1);
        }
      }
      JsonArray turns = new JsonArray();
      try (PreparedStatement ps = c.prepareStatement(LOAD_TURNS)) {
        ps.setString(1, scope);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            turns.add(ShortTermStore.turn(rs.getString(1), rs.getString(2)));
          }
        }
      }
      return new Window(summary, turns);
    });
  }

  @Override
  public Future<Integer> append(String scope, JsonArray turns, Duration ttl) {
    return store.transaction(c -> {
      long now = System.currentTimeMillis();
      expireOne(c, scope, now);
      try (PreparedStatement ps = c.prepareStatement(APPEND)) {
        for (Object o : turns) {
          JsonObject t = (JsonObject) o;
          ps.setString(1, scope);
          ps.setString(2, t.getString("role"));
          ps.setString(3, t.getString("content"));
          ps.setLong(4, now);
          ps.addBatch();
        }
        ps.executeBatch();
      }
      try (PreparedStatement ps = c.prepareStatement(TOUCH)) {
        ps.setString(1, scope);
        ps.setLong(2, now + ttl.toMillis());
        ps.executeUpdate();
      }
      try (PreparedStatement ps = c.prepareStatement(COUNT)) {
        ps.setString(1, scope);
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next() ? rs.getInt(1) : 0;
        }
      }
    });
  }

  /** A conversation that expired but was not swept yet starts afresh rather than coming back. */
  private static void expireOne(Connection c, String scope, long now) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(
        "DELETE FROM turns WHERE conversation = ? AND EXISTS (SELECT 1 FROM conversations WHERE conversation = ? AND expires_at <= ?)")) {
      ps.setString(1, scope);
      ps.setString(2, scope);
      ps.setLong(3, now);
      ps.executeUpdate();
    }
    try (PreparedStatement ps = c.prepareStatement("DELETE FROM conversations WHERE conversation = ? AND expires_at <= ?")) {
      ps.setString(1, scope);
      ps.setLong(2, now);
      ps.executeUpdate();
    }
  }

  @Override
  public Future<Void> compact(String scope, int count, String summary, Duration ttl) {
    return store.transaction(c -> {
      try (PreparedStatement ps = c.prepareStatement(DROP_OLDEST)) {
        ps.setString(1, scope);
        ps.setInt(2, count);
        ps.executeUpdate();
      }
      try (PreparedStatement ps = c.prepareStatement(SET_SUMMARY)) {
        ps.setString(1, scope);
        ps.setString(2, summary);
        ps.setLong(3, System.currentTimeMillis() + ttl.toMillis());
        ps.executeUpdate();
      }
      return null;
    });
  }

  @Override
  public Future<Integer> expire(Duration ttl) {
    return store.transaction(c -> {
      long now = System.currentTimeMillis();
      try (PreparedStatement turns = c.prepareStatement(EXPIRED_TURNS); PreparedStatement convs = c.prepareStatement(EXPIRED)) {
        turns.setLong(1, now);
        turns.executeUpdate();
        convs.setLong(1, now);
        return convs.executeUpdate();
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
}
