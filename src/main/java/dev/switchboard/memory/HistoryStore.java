package dev.switchboard.memory;

import dev.switchboard.store.EmbeddedStore;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;

/** Conversation turns in the embedded store, kept for a while (7 days by default). All SQL of short-term memory. */
final class HistoryStore {

  private static final String[] SCHEMA = {
      """
      CREATE TABLE IF NOT EXISTS turns (
        conversation TEXT NOT NULL,
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        role TEXT NOT NULL,
        content TEXT NOT NULL,
        created_at INTEGER NOT NULL)""",
      "CREATE INDEX IF NOT EXISTS turns_conversation ON turns (conversation, seq)",
  };
  private static final String APPEND = "INSERT INTO turns (conversation, role, content, created_at) VALUES (?, ?, ?, ?)";
  private static final String RECENT = """
      SELECT role, content FROM (
        SELECT seq, role, content FROM turns WHERE conversation = ? AND created_at > ? ORDER BY seq DESC LIMIT ?)
      ORDER BY seq""";
  private static final String EXPIRE = "DELETE FROM turns WHERE created_at <= ?";

  private final EmbeddedStore store;
  private final Duration ttl;

  HistoryStore(EmbeddedStore store, Duration ttl) {
    this.store = store;
    this.ttl = ttl;
  }

  EmbeddedStore store() {
    return store;
  }

  Future<Void> init() {
    return store.run(c -> {
      try (Statement s = c.createStatement()) {
        for (String ddl : SCHEMA) {
          s.execute(ddl);
        }
      }
      return null;
    });
  }

  /** The last {@code limit} turns, oldest first, as chat messages. */
  Future<JsonArray> recent(String conversation, int limit) {
    return store.run(c -> {
      JsonArray out = new JsonArray();
      try (PreparedStatement ps = c.prepareStatement(RECENT)) {
        ps.setString(1, conversation);
        ps.setLong(2, System.currentTimeMillis() - ttl.toMillis());
        ps.setInt(3, limit);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.add(new JsonObject().put("role", rs.getString(1)).put("content", rs.getString(2)));
          }
        }
      }
      return out;
    });
  }

  Future<Void> append(String conversation, JsonArray turns) {
    return store.transaction(c -> {
      long now = System.currentTimeMillis();
      try (PreparedStatement ps = c.prepareStatement(APPEND)) {
        for (Object o : turns) {
          JsonObject t = (JsonObject) o;
          ps.setString(1, conversation);
          ps.setString(2, t.getString("role"));
          ps.setString(3, t.getString("content"));
          ps.setLong(4, now);
          ps.addBatch();
        }
        ps.executeBatch();
      }
      return null;
    });
  }

  Future<Integer> expire() {
    return store.run(c -> {
      try (PreparedStatement ps = c.prepareStatement(EXPIRE)) {
        ps.setLong(1, System.currentTimeMillis() - ttl.toMillis());
        return ps.executeUpdate();
      }
    });
  }
}
