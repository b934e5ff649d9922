package dev.switchboard.channel;

import io.vertx.core.Future;
import java.util.List;

/**
 * Where a bot's sending windows are counted: in memory for the embedded profile (one instance), in
 * Redis for the distributed one, so that several instances together keep to a bot's limits. The
 * line of messages waiting for a turn stays with each instance ({@link RateLimiter}); only the
 * count of what was sent, and the platform's "too fast" pause, are shared.
 */
interface RateWindows {

  /** The windows of one key (a bot, or a bot's conversation). */
  interface Window {
    /** 0 when a message may go now (it counts as sent from now on); else how many ms until one may. */
    Future<Long> take();

    /** The platform throttled this key: no message goes for {@code ms}. */
    Future<Void> pause(long ms);
  }

  /** The windows of {@code key}: every window of the same key, here or elsewhere, counts the same sends. */
  Window window(String key, List<Bot.RateLimit> limits);

  /**
   * The platform counts arrivals, we count departures: a little slack keeps a slow request and a
   * fast one from landing in the same platform window.
   */
  static long windowMs(Bot.RateLimit limit) {
    long per = limit.per().toMillis();
    return per + Math.min(1000, per / 20);
  }
}
