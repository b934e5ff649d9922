package dev.switchboard.channel;

import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.ArrayDeque;
import java.util.List;

/**
 * A bot's line of messages: a message goes when the bot's windows (for example 100 a minute and 5
 * a second) have room and when the message before it has been answered, so that a chat shows
 * messages in the order they were sent. Messages over a limit wait in order of arrival and are
 * never dropped; when the platform itself says "too fast", everything waits a while longer.
 *
 * <p>The windows are counted by a {@link RateWindows.Window}: in memory, or in Redis where several
 * instances send for the same bot; the line itself is this instance's. A window that cannot be
 * asked (Redis is down) is asked again shortly: messages wait, none is lost or let through
 * uncounted. Confined to the push verticle's event loop.
 */
final class RateLimiter {

  /** How long the line waits before asking windows again that could not be asked. */
  static final long WINDOW_RETRY_MS = 1_000;

  private final Vertx vertx;
  /** Replaced when a reload changes the bot's limits ({@link #countIn}). */
  private RateWindows.Window window;
  private final ArrayDeque<Promise<Void>> waiting = new ArrayDeque<>();
  /** Local holds (backoff after a passing fault); the platform's holds go to the window too. */
  private long pausedUntil;
  private long timer = -1;
  /** A message was let through and has not been answered yet. */
  private boolean sending;
  /** The window is being asked for a turn. */
  private boolean asking;

  /** A line whose windows only this instance counts. */
  RateLimiter(Vertx vertx, List<Bot.RateLimit> limits) {
    this(vertx, new LocalWindows.Local(limits));
  }

  RateLimiter(Vertx vertx, RateWindows.Window window) {
    this.vertx = vertx;
    this.window = window;
  }

  /** The windows this line asks from now on: the bot's limits may have changed (a reload). */
  void countIn(RateWindows.Window next) {
    window = next;
  }

  /** Completes when this message may go; later callers go later, and a retry goes before them. */
  Future<Void> acquire(boolean retry) {
    // bound to the caller's context: the turn is often given by another push's answer, and a plain
    // promise would run this push on that push's context, under its request and task ids (observe.RequestIds)
    Promise<Void> turn = ((io.vertx.core.internal.ContextInternal) vertx.getOrCreateContext()).promise();
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

  /** The platform throttled us: hold every message for {@code ms}, on every instance. */
  void pauseFor(long ms) {
    pauseFor(ms, true);
  }

  /**
   * Hold every message for {@code ms}. {@code shared}: the platform's own hold, which every
   * instance sending for this bot must respect; a backoff after a passing fault is this line's.
   */
  void pauseFor(long ms, boolean shared) {
    pausedUntil = Math.max(pausedUntil, now() + ms);
    if (shared) {
      // best effort: when it cannot be shared, this instance still holds, and the platform says so again
      window.pause(ms);
    }
    drain();
  }

  private void drain() {
    while (!sending && !asking && !waiting.isEmpty() && timer < 0) {
      long now = now();
      if (pausedUntil > now) {
        holdFor(pausedUntil - now);
        return;
      }
      asking = true;
      Future<Long> turn = window.take();
      if (!turn.isComplete()) {
        turn.onComplete(ar -> {
          asking = false;
          if (granted(ar)) {
            drain();
          }
        });
        return;
      }
      asking = false;
      if (!granted(turn)) {
        return;
      }
    }
  }

  /** Acts on the window's answer; true when the line may move on. */
  private boolean granted(AsyncResult<Long> answer) {
    if (answer.failed()) {
      holdFor(WINDOW_RETRY_MS);
      return false;
    }
    if (answer.result() > 0) {
      holdFor(answer.result());
      return false;
    }
    if (waiting.isEmpty()) {
      return false;
    }
    sending = true;
    waiting.poll().complete();
    return true;
  }

  private void holdFor(long ms) {
    if (timer < 0) {
      timer = vertx.setTimer(Math.max(1, ms), id -> {
        timer = -1;
        drain();
      });
    }
  }

  /** Monotonic: a clock step must not stall or release the queue. */
  private static long now() {
    return System.nanoTime() / 1_000_000;
  }
}
