package dev.switchboard.channel;

import dev.switchboard.store.EmbeddedStore;
import io.vertx.core.Future;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.UUID;

/**
 * Claims of the embedded profile: a table in the store, so that they outlive a restart, until they
 * expire. A value of {@code busy:<token>} is a claim whose work is under way, {@code done:<value>}
 * (or none, in files written before) one whose work is done.
 */
final class EmbeddedClaims implements Claims {

  private static final String SCHEMA = "CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)";
  /** Takes the key when it is free or its claim has expired. */
  private static final String CLAIM = """
      INSERT INTO claims (key, expires_at, value) VALUES (?, ?, ?)
      ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at, value = excluded.value WHERE claims.expires_at <= ?""";
  private static final String HELD = "SELECT value FROM claims WHERE key = ?";
  private static final String DONE = "INSERT OR REPLACE INTO claims (key, expires_at, value) VALUES (?, ?, ?)";
  private static final String RELEASE = "DELETE FROM claims WHERE key = ? AND value = ?";
  private static final String SWEEP = "DELETE FROM claims WHERE expires_at <= ?";

  private final EmbeddedStore store;

  EmbeddedClaims(EmbeddedStore store) {
    this.store = store;
  }

  EmbeddedStore store() {
    return store;
  }

  @Override
  public Future<Void> init() {
    return store.run(c -> {
      EmbeddedStore.execute(c, SCHEMA);
      // added when claims learned to bracket work that can fail
      EmbeddedStore.ensureColumns(c, "claims", "value TEXT");
      return null;
    });
  }

  @Override
  public Future<Boolean> claim(String key, Duration ttl) {
    return store.run(c -> take(c, key, ttl, "done:"));
  }

  private static boolean take(java.sql.Connection c, String key, Duration ttl, String value) throws java.sql.SQLException {
    long now = System.currentTimeMillis();
    try (PreparedStatement ps = c.prepareStatement(CLAIM)) {
      ps.setString(1, key);
      ps.setLong(2, now + ttl.toMillis());
      ps.setString(3, value);
      ps.setLong(4, now);
      return ps.executeUpdate() == 1;
    }
  }

  @Override
  public Future<Claim> begin(String key, Duration hold) {
    String token = UUID.randomUUID().toString();
    return store.transaction(c -> {
      if (take(c, key, hold, "busy:" + token)) {
        return new Claim(State.TAKEN, token);
      }
      try (PreparedStatement ps = c.prepareStatement(HELD)) {
        ps.setString(1, key);
        try (ResultSet rs = ps.executeQuery()) {
          String value = rs.next() ? rs.getString(1) : null;
          return parse(value);
        }
      }
    });
  }

  /** What a held claim's value says; shared with the Redis claims, which store the same values. */
  static Claim parse(String value) {
    if (value != null && value.startsWith("busy:")) {
      return new Claim(State.BUSY, null);
    }
    return new Claim(State.DONE, value != null && value.startsWith("done:") ? value.substring(5) : "");
  }

  @Override
  public Future<Void> done(String key, Duration ttl, String value) {
    return store.run(c -> {
      try (PreparedStatement ps = c.prepareStatement(DONE)) {
        ps.setString(1, key);
        ps.setLong(2, System.currentTimeMillis() + ttl.toMillis());
        ps.setString(3, "done:" + (value == null ? "" : value));
        ps.executeUpdate();
      }
      return null;
    });
  }

  @Override
  public Future<Void> release(String key, String token) {
    return store.run(c -> {
      try (PreparedStatement ps = c.prepareStatement(RELEASE)) {
        ps.setString(1, key);
        ps.setString(2, "busy:" + token);
        ps.executeUpdate();
      }
      return null;
    });
  }

  @Override
  public Future<Integer> sweep() {
    return store.run(c -> {
      try (PreparedStatement ps = c.prepareStatement(SWEEP)) {
        ps.setLong(1, System.currentTimeMillis());
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
}
