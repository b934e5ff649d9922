package dev.switchboard.memory;

import dev.switchboard.store.EmbeddedStore;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * Conversation turns that could not be written to Redis, kept durably in the embedded store
 * until they can be, in arrival order. A conversation task must not fail, nor forget what was
 * said, because the short-term store blinked.
 */
final class Outbox {

  record Entry(long seq, String scope, JsonArray turns) {
  }

  private final EmbeddedStore store;

  Outbox(EmbeddedStore store) {
    this.store = store;
  }

  Future<Void> init() {
    return store.run(c -> {
      EmbeddedStore.execute(c, """
            CREATE TABLE IF NOT EXISTS memory_outbox (
              seq INTEGER PRIMARY KEY AUTOINCREMENT,
              scope TEXT NOT NULL,
              turns TEXT NOT NULL,
              created_at INTEGER NOT NULL)""");
      return null;
    });
  }

  Future<Boolean> isEmpty() {
    return store.run(c -> {
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT 1 FROM memory_outbox LIMIT 1")) {
        return !rs.next();
      }
    });
  }

  Future<Void> add(String scope, JsonArray turns) {
    return store.run(c -> {
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO memory_outbox (scope, turns, created_at) VALUES (?, ?, ?)")) {
        ps.setString(1, scope);
        ps.setString(2, turns.encode());
        ps.setLong(3, System.currentTimeMillis());
        ps.executeUpdate();
      }
      return null;
    });
  }

  Future<List<Entry>> oldest(int limit) {
    return store.run(c -> {
      List<Entry> out = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement("SELECT seq, scope, turns FROM memory_outbox ORDER BY seq LIMIT ?")) {
        ps.setInt(1, limit);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.add(new Entry(rs.getLong(1), rs.getString(2), new JsonArray(rs.getString(3))));
          }
        }
      }
      return out;
    });
  }

  Future<Void> remove(long seq) {
    return store.run(c -> {
      try (PreparedStatement ps = c.prepareStatement("DELETE FROM memory_outbox WHERE seq = ?")) {
        ps.setLong(1, seq);
        ps.executeUpdate();
      }
      return null;
    });
  }
}
