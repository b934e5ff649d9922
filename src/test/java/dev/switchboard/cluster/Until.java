package dev.switchboard.cluster;

import java.time.Duration;
import java.util.concurrent.Callable;

/** Polls a condition until it holds or a generous bound passes: for what happens on timers. */
public final class Until {

  private Until() {
  }

  /** Waits until {@code condition} is true; fails naming {@code what} after {@code bound}. Errors count as false. */
  public static void holds(Duration bound, String what, Callable<Boolean> condition) {
    long deadline = System.nanoTime() + bound.toNanos();
    Throwable last = null;
    while (true) {
      try {
        if (Boolean.TRUE.equals(condition.call())) {
          return;
        }
      } catch (Exception e) {
        last = e;
      }
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("not within " + bound.toSeconds() + "s: " + what + (last == null ? "" : " (last error: " + last + ")"),
            last);
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted while waiting until " + what, e);
      }
    }
  }
}
