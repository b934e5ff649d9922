package dev.switchboard.memory;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;

/**
 * Where conversation turns live for a while: the embedded store, or Redis lists with a TTL. A
 * scope's turns and its running summary expire together, {@code ttl} after the scope was last
 * written (each append refreshes it). Every method fails with a
 * {@link dev.switchboard.bus.Failure} 503 when the store cannot be reached.
 */
public interface ShortTermStore {

  /** A scope's running summary (empty when none) and its turns, oldest first. */
  record Window(String summary, JsonArray turns) {
    public static final Window EMPTY = new Window("", new JsonArray());
  }

  Future<Window> load(String scope);

  /** Appends chat messages ({@code {role, content}}) and refreshes the scope's TTL; returns the number of turns now kept. */
  Future<Integer> append(String scope, JsonArray turns, Duration ttl);

  /**
   * Drops the {@code count} oldest turns and sets the summary that now stands for them, as one
   * step: turns appended meanwhile (at the other end) are kept.
   */
  Future<Void> compact(String scope, int count, String summary, Duration ttl);

  /** Removes scopes not written for longer than their TTL (Redis does this by itself). */
  Future<Integer> expire(Duration ttl);

  Future<Void> ping();

  Future<Void> close();

  static JsonObject turn(String role, String content) {
    return new JsonObject().put("role", role).put("content", content);
  }
}
