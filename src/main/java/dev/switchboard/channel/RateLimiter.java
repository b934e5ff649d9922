package dev.switchboard.channel;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.ArrayDeque;
import java.util.List;

/**
 * A bot's sending windows (for example 100 a minute and 5 a second): a message goes when every
 * window has room, counted over a sliding window of send times, and when the message before it has
 * been answered, so that a chat shows messages in the order they were sent. Messages over a limit
 * wait in order of arrival and are never dropped; when the platform itself says "too fast",
 * everything waits a while longer. Confined to the push verticle's event loop.
 */
final class RateLimiter {

  private final Vertx vertx;
  private final List<Bot.RateLimit> limits;
  /** Send times, newest last, as many as the largest window can hold. */
  private final ArrayDeque<Long> sent = new ArrayDeque<>();
  private final ArrayDeque<Promise<Void>> waiting = new ArrayDeque<>();
  private final int keep;
  private long pausedUntil;
  private long timer = -1;
  /** A message was let through and has not been answered yet. */
  private boolean sending;

  RateLimiter(Vertx vertx, List<Bot.RateLimit> limits) {
    this.vertx = vertx;
    this.limits = List.copyOf(limits);
    this.keep = limits.stream().mapToInt(Bot.RateLimit::messages).max().orElse(1);
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

  /** The message let through last has its answer: the next may go. */
  void release() {
    sending = false;
    drain();
  }

  /** The platform throttled us: hold every message for {@code ms}. */
  void pauseFor(long ms) {
    pausedUntil = Math.max(pausedUntil, now() + ms);
    drain();
  }

  private void drain() {
    long now = now();
    while (!sending && !waiting.isEmpty() && earliest(now) <= now) {
      sending = true;
      sent.addLast(now);
      if (sent.size() > keep) {
        sent.pollFirst();
      }
      waiting.poll().complete();
    }
    if (!sending && !waiting.isEmpty() && timer < 0) {
      timer = vertx.setTimer(Math.max(1, earliest(now) - now), id -> {
        timer = -1;
        drain();
      });
    }
  }

  /** The earliest time the next message may go under every window and the platform's hold. */
  private long earliest(long now) {
    long at = Math.max(now, pausedUntil);
    for (Bot.RateLimit limit : limits) {
      if (sent.size() >= limit.messages()) {
        // the send that has to leave this window before another fits in it
        long nth = nthNewest(limit.messages());
        at = Math.max(at, nth + window(limit));
      }
    }
    return at;
  }

  private long nthNewest(int n) {
    var it = sent.descendingIterator();
    long t = 0;
    for (int i = 0; i < n && it.hasNext(); i++) {
      t = it.next();
    }
    return t;
  }

  /**
   * The platform counts arrivals, we count departures: a little slack keeps a slow request and a
   * fast one from landing in the same platform window.
   */
  private static long window(Bot.RateLimit limit) {
    long per = limit.per().toMillis();
    return per + Math.min(1000, per / 20);
  }

  /** Monotonic: a clock step must not stall or release the queue. */
  private static long now() {
    return System.nanoTime() / 1_000_000;
  }
}
