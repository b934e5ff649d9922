package dev.switchboard.channel;

import dev.switchboard.store.EmbeddedStore;
import io.vertx.core.Future;
import java.sql.PreparedStatement;

/**
 * Claims on message ids, so that a platform's re-delivery is handled once. A claim lives in the
 * store, so it outlives a restart, until it expires.
 */
final class ClaimStore {

  private static final String SCHEMA = "CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)";
  /** Takes the key when it is free or its claim has expired. */
  private static final String CLAIM = """
      INSERT INTO claims (key, expires_at) VALUES (?, ?)
      ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE claims.expires_at <= ?""";
  private static final String SWEEP = "DELETE FROM claims WHERE expires_at <= ?";

  private final EmbeddedStore store;

  ClaimStore(EmbeddedStore store) {
    this.store = store;
  }

  Future<Void> init() {
    return store.run(c -> {
      EmbeddedStore.execute(c, SCHEMA);
      return null;
    });
  }

  /** True when this call took the claim; false when someone holds it still. */
  Future<Boolean> claim(String key, long ttlMillis) {
    return store.run(c -> {
      long now = System.currentTimeMillis();
      try (PreparedStatement ps = c.prepareStatement(CLAIM)) {
        ps.setString(1, key);
        ps.setLong(2, now + ttlMillis);
        ps.setLong(3, now);
        return ps.executeUpdate() == 1;
      }
    });
  }

  Future<Integer> sweep() {
    return store.run(c -> {
      try (PreparedStatement ps = c.prepareStatement(SWEEP)) {
        ps.setLong(1, System.currentTimeMillis());
        return ps.executeUpdate();
      }
    });
  }
}
