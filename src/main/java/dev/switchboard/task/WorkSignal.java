package dev.switchboard.task;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.List;

/**
 * The waiting side of {@link TaskQueue#awaitWork} inside one process: workers that found nothing
 * wait here until the queue says work may be there ({@link #wakeAll}, {@link #wakeAt}) or their
 * own time is up. Safe from any thread; each waiter is completed on the context it waited from.
 */
final class WorkSignal {

  private record Waiter(Promise<Void> promise, Context context, long timer) {
  }

  private final Vertx vertx;
  private final List<Waiter> waiters = new ArrayList<>();
  /** The one timer for the earliest time something comes due, and that time (MAX_VALUE: none). */
  private long dueTimer = -1;
  private long dueAt = Long.MAX_VALUE;
  private boolean closed;

  WorkSignal(Vertx vertx) {
    this.vertx = vertx;
  }

  /** Completes on the next wake-up, or after {@code maxMillis}; never fails. */
  Future<Void> await(long maxMillis) {
    Context context = vertx.getOrCreateContext();
    Promise<Void> promise = Promise.promise();
    synchronized (this) {
      if (closed) {
        return Future.succeededFuture();
      }
      long[] timer = new long[1];
      Waiter[] self = new Waiter[1];
      timer[0] = vertx.setTimer(Math.max(1, maxMillis), id -> {
        boolean mine;
        synchronized (this) {
          mine = waiters.remove(self[0]);
        }
        if (mine) {
          promise.tryComplete();
        }
      });
      self[0] = new Waiter(promise, context, timer[0]);
      waiters.add(self[0]);
    }
    return promise.future();
  }

  synchronized boolean hasWaiters() {
    return !waiters.isEmpty();
  }

  /** Everyone waiting now looks for work. */
  void wakeAll() {
    List<Waiter> woken;
    synchronized (this) {
      if (waiters.isEmpty()) {
        return;
      }
      woken = new ArrayList<>(waiters);
      waiters.clear();
    }
    for (Waiter w : woken) {
      vertx.cancelTimer(w.timer());
      w.context().runOnContext(v -> w.promise().tryComplete());
    }
  }

  /** Wakes whoever waits at {@code epochMillis} (at once if that has passed): a delayed task comes due. */
  void wakeAt(long epochMillis) {
    long wait = epochMillis - System.currentTimeMillis();
    if (wait <= 0) {
      wakeAll();
      return;
    }
    synchronized (this) {
      if (closed || epochMillis >= dueAt) {
        return;
      }
      if (dueTimer >= 0) {
        vertx.cancelTimer(dueTimer);
      }
      dueAt = epochMillis;
      // a millisecond late rather than early: the task must be due when the waiter looks
      dueTimer = vertx.setTimer(wait + 1, id -> {
        synchronized (this) {
          if (dueTimer != id) {
            return;
          }
          dueTimer = -1;
          dueAt = Long.MAX_VALUE;
        }
        wakeAll();
      });
    }
  }

  /** Wakes everyone and lets nobody wait any more. */
  void close() {
    synchronized (this) {
      closed = true;
      if (dueTimer >= 0) {
        vertx.cancelTimer(dueTimer);
        dueTimer = -1;
      }
    }
    wakeAll();
  }
}
