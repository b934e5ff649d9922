package dev.switchboard.events;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * Where inbound events wait for the rules: stored durably, and claimed by their id in the same step,
 * before the platform is acknowledged, so that a re-delivery is recognised and a crash after the
 * acknowledgement loses nothing. Embedded: a table of the SQLite file in {@code data/};
 * distributed: Redis, shared by every instance.
 *
 * <p>An event not yet handled carries a lease: until it runs out, no instance takes it (the one
 * that stored or took it is handing it to the rules); an event whose lease ran out is {@link #due}
 * and taken again. The lease is also how a retry waits: {@link #retryAfter} sets it to the backoff,
 * so that the wait is the store's and holds across instances and restarts.
 */
public interface EventStore {

  /** An event to hand over again, and how many times it has been taken before (this one included). */
  record Due(JsonObject event, int attempts) {
  }

  /** {@code cursor}: where the next page starts (opaque), null on the last page. */
  record Page(List<JsonObject> data, String nextCursor) {
  }

  /** Filters are exact; null means any. */
  record Query(String type, String platform, int limit, String cursor) {
  }

  /**
   * Stores {@code event} unless an event with its id is kept already: true when stored (leased to
   * {@code owner} for {@code lease}), false for a duplicate.
   */
  Future<Boolean> store(JsonObject event, String owner, Duration lease);

  /** The rules have it: never due again. Unknown ids are ignored (purged meanwhile). */
  Future<Void> handled(String id);

  /** The hand-over failed: the event is due again after {@code delay}, if {@code owner} still holds it. */
  Future<Void> retryAfter(String id, String owner, Duration delay);

  /** Up to {@code limit} unhandled events whose lease ran out, oldest first, now leased to {@code owner}. */
  Future<List<Due>> due(String owner, Duration lease, int limit);

  /** Newest first. */
  Future<Page> list(Query query);

  /** Removes events stored before {@code before}, handled or not; how many went. */
  Future<Integer> purge(Instant before);

  Future<Void> ping();

  Future<Void> close();
}
