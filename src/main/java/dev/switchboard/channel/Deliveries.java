package dev.switchboard.channel;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Delivery records (design §3.3): one per push, at most one per task, channel and bot, created
 * before the first send, so that a task that runs again, here or on another instance, pushes each
 * result once. Embedded: a table in {@code data/}; distributed: Redis, shared by every instance.
 *
 * <p>Who pushes a pending delivery is decided by a lease: the instance that created it, took it
 * over or retried it holds it until {@code lease_until}, renews it while it works on it, and
 * gives it back when it stops. A pending delivery whose lease ran out (its holder died) is taken
 * over by whichever instance asks first. Every taking counts up the delivery's {@code fence}, and
 * every write of a holder names the fence it holds: a holder that lost its lease (it stalled, or
 * lost Redis for longer than the lease) cannot record anything over the new holder's work.
 *
 * <p>Each store is made for one owner (the instance) and one lease length; times are the store's
 * (Redis's clock in the distributed profile, so that instances' clocks do not matter).
 */
interface Deliveries {

  String PENDING = "pending";
  String DELIVERED = "delivered";
  String FAILED = "failed";
  String DEAD = "dead";

  /**
   * A record as the push loop needs it. {@code body}: a platform-native message to send instead of
   * {@code message}'s text, or null. {@code fence}: the lease this owner holds on it, when it does.
   */
  record Record(String id, String taskId, String channel, String bot, String message, JsonObject address, JsonObject body,
                String status, int attempts, long fence) {
  }

  /** What {@link #open} found: the record, whether this owner now holds it (and must push it), and its API view. */
  record Opened(Record record, boolean held, JsonObject view) {
  }

  Future<Void> init();

  /**
   * A new pending record held by this owner, or the one the task already has for this bot (taken
   * over when it is pending and its lease ran out).
   */
  Future<Opened> open(String taskId, String channel, String bot, String message, JsonObject address, JsonObject body);

  /** Extends the leases this owner still holds (delivery id to fence); the ids it still holds. */
  Future<Set<String>> renew(Map<String, Long> leases);

  /**
   * After each attempt: the count, the platform's last answer, and the status (pending while
   * retrying; a final status ends the lease). False, and nothing written, when {@code fence} no
   * longer holds the delivery.
   */
  Future<Boolean> attempted(String id, long fence, int attempts, JsonObject response, String status);

  /** Gives leases back (a graceful stop), so that another instance may take the deliveries at once. */
  Future<Void> release(Map<String, Long> leases);

  /** Pending deliveries whose lease ran out (or was given back), now held by this owner, oldest first. */
  Future<List<Record>> takeOver(int max);

  /** A failed or dead delivery back to pending, held by this owner; empty when it is not in one of those states. */
  Future<Optional<Record>> reopen(String id);

  Future<Optional<JsonObject>> view(String id);

  Future<JsonArray> ofTask(String taskId);

  /**
   * A page of records matching the filters (each may be null), oldest first, after {@code cursor};
   * {@code next_cursor} is set when there may be more.
   */
  Future<JsonObject> list(String status, String channel, String bot, long cursor, int limit);

  /** Removes finished deliveries older than the retention; how many went. */
  Future<Integer> sweep();

  Future<Void> ping();

  Future<Void> close();

  /** The view of the admin API, from a record's stored fields. */
  static JsonObject view(String id, String taskId, String channel, String bot, String status, int attempts,
                         JsonObject response, long createdAt, long updatedAt) {
    return new JsonObject()
        .put("id", id)
        .put("task_id", taskId)
        .put("channel", channel)
        .put("bot", bot)
        .put("status", status)
        .put("attempts", attempts)
        .put("response", response)
        .put("created_at", java.time.Instant.ofEpochMilli(createdAt).toString())
        .put("updated_at", java.time.Instant.ofEpochMilli(updatedAt).toString());
  }
}
