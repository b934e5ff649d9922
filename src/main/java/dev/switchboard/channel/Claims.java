package dev.switchboard.channel;

import io.vertx.core.Future;
import java.time.Duration;

/**
 * Claims on what platforms send (message ids, event ids, signatures), so that a re-delivery or a
 * replay is acted on once, by whichever instance gets it. Embedded: a table in {@code data/};
 * distributed: Redis keys with a TTL, so that every instance sees every claim.
 *
 * <p>Two kinds: {@link #claim} takes a key for good (until it expires) in one step, for work that
 * cannot fail once it is decided (publishing an event); {@link #begin}, {@link #done} and
 * {@link #release} bracket work that can fail (submitting a task), so that a failure or a crash in
 * the middle leaves the key free for the platform's re-delivery instead of swallowing it.
 */
interface Claims {

  /** What {@link #begin} found. */
  enum State {
    /** The key is this caller's until it calls done or release (or the hold runs out). */
    TAKEN,
    /** Someone is handling the key right now: ask again later. */
    BUSY,
    /** The key was handled: nothing more to do. */
    DONE
  }

  /** {@code value}: for TAKEN, the token to release with; for DONE, what {@link #done} recorded. */
  record Claim(State state, String value) {
  }

  Future<Void> init();

  /** True when this call took {@code key} (it was free, or its claim had expired); false while it is held. */
  Future<Boolean> claim(String key, Duration ttl);

  /** Takes {@code key} for at most {@code hold} while its work is done, or says who has it. */
  Future<Claim> begin(String key, Duration hold);

  /** The work is done: {@code key} stays taken for {@code ttl}, remembering {@code value}. */
  Future<Void> done(String key, Duration ttl, String value);

  /** The work did not happen: {@code key} is free again (if {@code token} still holds it). */
  Future<Void> release(String key, String token);

  /** Removes expired claims (Redis expires them by itself); how many went. */
  Future<Integer> sweep();

  Future<Void> ping();

  Future<Void> close();
}
