package dev.switchboard.channel;

import io.vertx.core.Future;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Sending windows in memory: one instance is the only sender. Send times are kept, newest last, as
 * many as the largest window can hold, on a monotonic clock (a clock step must neither stall nor
 * release the line). Confined to one event loop, like the limiters that use it.
 */
final class LocalWindows implements RateWindows {

  private final Map<String, Local> windows = new HashMap<>();

  @Override
  public Window window(String key, List<Bot.RateLimit> limits) {
    Local known = windows.get(key);
    if (known == null) {
      known = new Local(limits);
      windows.put(key, known);
    } else if (!known.limits.equals(limits)) {
      // new limits (a reload): the same window, so the sends already made, and those its line makes
      // for messages that were waiting, count against them
      known.retune(limits);
    }
    return known;
  }

  static final class Local implements Window {
    private List<Bot.RateLimit> limits;
    private final ArrayDeque<Long> sent = new ArrayDeque<>();
    private int keep;
    private long pausedUntil;

    Local(List<Bot.RateLimit> limits) {
      retune(limits);
    }

    private void retune(List<Bot.RateLimit> next) {
      limits = List.copyOf(next);
      keep = limits.stream().mapToInt(Bot.RateLimit::messages).max().orElse(1);
      while (sent.size() > keep) {
        sent.pollFirst();
      }
    }

    @Override
    public Future<Long> take() {
      long now = now();
      long at = earliest(now);
      if (at > now) {
        return Future.succeededFuture(at - now);
      }
      sent.addLast(now);
      if (sent.size() > keep) {
        sent.pollFirst();
      }
      return Future.succeededFuture(0L);
    }

    @Override
    public Future<Void> pause(long ms) {
      pausedUntil = Math.max(pausedUntil, now() + ms);
      return Future.succeededFuture();
    }

    /** The earliest time the next message may go under every window and the platform's hold. */
    private long earliest(long now) {
      long at = Math.max(now, pausedUntil);
      for (Bot.RateLimit limit : limits) {
        if (sent.size() >= limit.messages()) {
          // the send that has to leave this window before another fits in it
          at = Math.max(at, nthNewest(limit.messages()) + RateWindows.windowMs(limit));
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

    private static long now() {
      return System.nanoTime() / 1_000_000;
    }
  }
}
