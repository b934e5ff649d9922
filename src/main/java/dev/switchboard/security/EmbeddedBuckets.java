package dev.switchboard.security;

import io.vertx.core.Future;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;

/**
 * Buckets in memory. Each bucket is one immutable state swapped by compare-and-set, so takes on
 * the same key never lock and never lose a token, whichever threads they come from. Time is a
 * monotonic clock: a step of the wall clock must neither refill every bucket nor freeze them.
 * Buckets that have filled up again are forgotten by {@link #sweep}: a full bucket is what a new
 * one is, so forgetting it changes no answer, and a stream of one-off client addresses cannot
 * grow the map for ever. The sweep runs where the takes run (the rate-limit verticle's event
 * loop): a take racing it could write to a bucket just forgotten.
 */
final class EmbeddedBuckets implements Buckets {

  /** Tokens (fractional) at {@code at} (clock ns); {@code fullAt}: when it would hold its burst again. */
  private record State(double tokens, long at, long fullAt) {
  }

  private final ConcurrentHashMap<String, AtomicReference<State>> buckets = new ConcurrentHashMap<>();
  private final LongSupplier nanos;

  EmbeddedBuckets() {
    this(System::nanoTime);
  }

  /** {@code nanos}: the clock, monotonic; tests pass one they move by hand. */
  EmbeddedBuckets(LongSupplier nanos) {
    this.nanos = nanos;
  }

  @Override
  public Future<Long> take(String key, RateLimits.Limit limit) {
    return Future.succeededFuture(takeNow(key, limit));
  }

  long takeNow(String key, RateLimits.Limit limit) {
    AtomicReference<State> bucket = buckets.computeIfAbsent(key, k -> new AtomicReference<>());
    double nsPerToken = limit.msPerToken() * 1_000_000;
    while (true) {
      long now = nanos.getAsLong();
      State was = bucket.get();
      double tokens = was == null ? limit.burst() : Math.min(limit.burst(), was.tokens() + Math.max(0, now - was.at()) / nsPerToken);
      long at = was == null ? now : Math.max(now, was.at());
      if (tokens < 1) {
        return Math.max(1, (long) Math.ceil((1 - tokens) * nsPerToken / 1_000_000));
      }
      double left = tokens - 1;
      State next = new State(left, at, at + (long) Math.ceil((limit.burst() - left) * nsPerToken));
      if (bucket.compareAndSet(was, next)) {
        return 0;
      }
    }
  }

  /** Forgets the buckets that are full again; returns how many are left. */
  int sweep() {
    long now = nanos.getAsLong();
    buckets.values().removeIf(b -> {
      State s = b.get();
      return s == null || s.fullAt() - now <= 0;
    });
    return buckets.size();
  }
}
