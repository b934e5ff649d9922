package dev.switchboard.schedule;

import dev.switchboard.store.EmbeddedStore;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Schedules in the embedded profile's SQLite file, on the store's worker thread. A firing is one
 * transaction that checks the fence and compares next_fire before it moves it; the embedded
 * profile has one instance, but the same rules hold so that both stores pass one suite.
 */
public final class EmbeddedScheduleStore implements ScheduleStore {

  private static final String COLUMNS = "rule, spec, source, definition, next_fire, last_fire, last_token";

  private final EmbeddedStore store;

  public EmbeddedScheduleStore(EmbeddedStore store) {
    this.store = store;
  }

  @Override
  public Future<Void> init() {
    return store.run(c -> {
      EmbeddedStore.execute(c,
          "CREATE TABLE IF NOT EXISTS schedules (rule TEXT PRIMARY KEY, spec TEXT NOT NULL, source TEXT NOT NULL,"
              + " definition TEXT, next_fire INTEGER, last_fire INTEGER, last_token INTEGER NOT NULL DEFAULT 0)",
          "CREATE TABLE IF NOT EXISTS schedule_fence (id INTEGER PRIMARY KEY CHECK (id = 1), token INTEGER NOT NULL)",
          "INSERT OR IGNORE INTO schedule_fence (id, token) VALUES (1, 0)");
      return null;
    });
  }

  @Override
  public Future<List<ScheduleEntry>> list() {
    return store.run(c -> {
      List<ScheduleEntry> out = new ArrayList<>();
      try (PreparedStatement s = c.prepareStatement("SELECT " + COLUMNS + " FROM schedules ORDER BY rule");
           ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          out.add(entry(rs));
        }
      }
      return out;
    });
  }

  @Override
  public Future<ScheduleEntry> get(String rule) {
    return store.run(c -> find(c, rule));
  }

  @Override
  public Future<List<String>> syncFile(List<ScheduleEntry> entries) {
    return store.transaction(c -> {
      Map<String, ScheduleEntry> existing = new LinkedHashMap<>();
      try (PreparedStatement s = c.prepareStatement("SELECT " + COLUMNS + " FROM schedules"); ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          ScheduleEntry e = entry(rs);
          existing.put(e.rule(), e);
        }
      }
      List<String> taken = new ArrayList<>();
      Set<String> listed = new HashSet<>();
      for (ScheduleEntry e : entries) {
        listed.add(e.rule());
        ScheduleEntry old = existing.get(e.rule());
        if (old != null && ScheduleEntry.API.equals(old.source())) {
          taken.add(e.rule());
        } else if (old == null) {
          try (PreparedStatement s = c.prepareStatement("INSERT INTO schedules (" + COLUMNS + ") VALUES (?, ?, ?, NULL, ?, NULL, 0)")) {
            s.setString(1, e.rule());
            s.setString(2, e.spec().encode());
            s.setString(3, ScheduleEntry.FILE);
            setTime(s, 4, e.nextFire());
            s.executeUpdate();
          }
        } else if (!old.spec().equals(e.spec())) {
          try (PreparedStatement s = c.prepareStatement("UPDATE schedules SET spec = ?, next_fire = ? WHERE rule = ?")) {
            s.setString(1, e.spec().encode());
            setTime(s, 2, e.nextFire());
            s.setString(3, e.rule());
            s.executeUpdate();
          }
        }
      }
      for (ScheduleEntry old : existing.values()) {
        if (ScheduleEntry.FILE.equals(old.source()) && !listed.contains(old.rule())) {
          try (PreparedStatement s = c.prepareStatement("DELETE FROM schedules WHERE rule = ? AND source = ?")) {
            s.setString(1, old.rule());
            s.setString(2, ScheduleEntry.FILE);
            s.executeUpdate();
          }
        }
      }
      return taken;
    });
  }

  @Override
  public Future<Boolean> add(ScheduleEntry e) {
    return store.run(c -> {
      try (PreparedStatement s = c.prepareStatement("INSERT OR IGNORE INTO schedules (" + COLUMNS + ") VALUES (?, ?, ?, ?, ?, NULL, 0)")) {
        s.setString(1, e.rule());
        s.setString(2, e.spec().encode());
        s.setString(3, e.source());
        s.setString(4, e.definition() == null ? null : e.definition().encode());
        setTime(s, 5, e.nextFire());
        return s.executeUpdate() == 1;
      }
    });
  }

  @Override
  public Future<Boolean> delete(String rule, String source) {
    return store.run(c -> {
      try (PreparedStatement s = c.prepareStatement("DELETE FROM schedules WHERE rule = ? AND source = ?")) {
        s.setString(1, rule);
        s.setString(2, source);
        return s.executeUpdate() == 1;
      }
    });
  }

  @Override
  public Future<Boolean> fence(long token) {
    return store.transaction(c -> {
      raise(c, token);
      return fenceOf(c) <= token;
    });
  }

  @Override
  public Future<Boolean> record(String rule, Instant expectedNext, Instant fired, Instant newNext, long token) {
    if (expectedNext == null) {
      return Future.succeededFuture(false);
    }
    return store.transaction(c -> {
      if (token < fenceOf(c)) {
        return false;
      }
      try (PreparedStatement s = c.prepareStatement(
          "UPDATE schedules SET next_fire = ?, last_fire = COALESCE(?, last_fire), last_token = ?"
              + " WHERE rule = ? AND next_fire = ? AND last_token <= ?")) {
        setTime(s, 1, newNext);
        setTime(s, 2, fired);
        s.setLong(3, token);
        s.setString(4, rule);
        s.setLong(5, expectedNext.toEpochMilli());
        s.setLong(6, token);
        if (s.executeUpdate() != 1) {
          return false;
        }
      }
      raise(c, token);
      return true;
    });
  }

  @Override
  public Future<Void> close() {
    return store.close();
  }

  private static void raise(Connection c, long token) throws SQLException {
    try (PreparedStatement s = c.prepareStatement("UPDATE schedule_fence SET token = MAX(token, ?) WHERE id = 1")) {
      s.setLong(1, token);
      s.executeUpdate();
    }
  }

  private static long fenceOf(Connection c) throws SQLException {
    try (PreparedStatement s = c.prepareStatement("SELECT token FROM schedule_fence WHERE id = 1"); ResultSet rs = s.executeQuery()) {
      return rs.next() ? rs.getLong(1) : 0;
    }
  }

  private static ScheduleEntry find(Connection c, String rule) throws SQLException {
    try (PreparedStatement s = c.prepareStatement("SELECT " + COLUMNS + " FROM schedules WHERE rule = ?")) {
      s.setString(1, rule);
      try (ResultSet rs = s.executeQuery()) {
        return rs.next() ? entry(rs) : null;
      }
    }
  }

  private static ScheduleEntry entry(ResultSet rs) throws SQLException {
    String definition = rs.getString("definition");
    return new ScheduleEntry(rs.getString("rule"), new JsonObject(rs.getString("spec")), rs.getString("source"),
        definition == null ? null : new JsonObject(definition), time(rs, "next_fire"), time(rs, "last_fire"),
        rs.getLong("last_token"));
  }

  private static Instant time(ResultSet rs, String column) throws SQLException {
    long ms = rs.getLong(column);
    return rs.wasNull() ? null : Instant.ofEpochMilli(ms);
  }

  private static void setTime(PreparedStatement s, int index, Instant t) throws SQLException {
    if (t == null) {
      s.setNull(index, Types.INTEGER);
    } else {
      s.setLong(index, t.toEpochMilli());
    }
  }
}
