package dev.switchboard.channel;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.ArrayDeque;

/**
 * A bot's sending window: at most {@code messages} per {@code per}, over a sliding window of send
 * times. Messages over the limit wait in order of arrival and are never dropped; when the platform
 * itself says "too fast", everything waits a while longer. Confined to the push verticle's loop.
 */
final class RateLimiter {

  private final Vertx vertx;
  private final Bot.RateLimit limit;
  private final ArrayDeque<Long> sent = new ArrayDeque<>();
  private final ArrayDeque<Promise<Void>> waiting = new ArrayDeque<>();
  private long pausedUntil;
  private long timer = -1;

  RateLimiter(Vertx vertx, Bot.RateLimit limit) {
    this.vertx = vertx;
    this.limit = limit;
  }

  /** Completes when this message may go; later callers go later, and a retry goes before them. */
  Future<Void> acquire(boolean retry) {
    Promise<Void> turn = Promise.promise();
    if (retry) {
      waiting.addFirst(turn);
    } else {
      waiting.add(turn);
    }
    drain();
    return turn.future();
  }

  /** The platform throttled us: hold every message for {@code ms}. */
  void pauseFor(long ms) {
    pausedUntil = Math.max(pausedUntil, now() + ms);
    drain();
  }

  int waiting() {
    return waiting.size();
  }

  /** Monotonic: a clock step must not stall or release the queue. */
  private static long now() {
    return System.nanoTime() / 1_000_000;
  }

  private void drain() {
    long now = now();
    // the platform counts arrivals, we count departures: a little slack keeps a slow request and a
    // fast one from landing in the same platform window
    long window = limit.per().toMillis() + Math.min(1000, limit.per().toMillis() / 20);
    while (!sent.isEmpty() && sent.peekFirst() <= now - window) {
      sent.pollFirst();
    }
    while (now >= pausedUntil && !waiting.isEmpty() && sent.size() < limit.messages()) {
      sent.addLast(now);
      waiting.poll().complete();
    }
    if (!waiting.isEmpty() && timer < 0) {
      long next = now < pausedUntil ? pausedUntil : sent.peekFirst() + window;
      timer = vertx.setTimer(Math.max(1, next - now), id -> {
        timer = -1;
        drain();
      });
    }
  }
}
