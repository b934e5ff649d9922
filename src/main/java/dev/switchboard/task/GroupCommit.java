package dev.switchboard.task;

import dev.switchboard.store.EmbeddedStore;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Writes to the embedded store in groups: work that arrives while a commit is under way is done
 * together in the next transaction, and each future completes only after the commit that holds
 * it. With {@code synchronous=FULL} a commit is an fsync (milliseconds), the rows themselves are
 * tens of microseconds, so this is what lets the queue accept thousands of tasks a second
 * without answering before they are on disk.
 *
 * <p>Under load the next commit waits, at most {@link #GATHER_MS}, until as many units are waiting
 * as the last commit answered: those callers are about to come back, and without the wait every
 * other commit would carry one unit (it starts the moment the first of them returns). Alone, a
 * unit is committed at once. Each unit runs in a savepoint of its own, so one that throws is
 * undone and fails alone while the rest of its group commits.
 */
final class GroupCommit {

  /** How long a commit waits for the callers the last one answered (PostgreSQL's commit_delay, adaptive). */
  static final long GATHER_MS = 2;

  private record Unit<T>(EmbeddedStore.Work<T> work, Context context, Promise<T> promise) {
  }

  /** A unit's outcome inside the transaction: its value, or what it threw (it was rolled back). */
  private record Done(Object value, Throwable error) {
  }

  private final Vertx vertx;
  private final EmbeddedStore store;
  private final int maxBatch;
  private final ArrayDeque<Unit<?>> waiting = new ArrayDeque<>();
  private final AtomicLong commits = new AtomicLong();
  // guarded by waiting
  private boolean busy;
  private int expect = 1;
  private long gatherTimer = -1;

  GroupCommit(Vertx vertx, EmbeddedStore store, int maxBatch) {
    this.vertx = vertx;
    this.store = store;
    this.maxBatch = maxBatch;
  }

  /** Runs {@code work} in a group's transaction; completes (on the caller's context) once that is committed. */
  <T> Future<T> submit(EmbeddedStore.Work<T> work) {
    Unit<T> unit = new Unit<>(work, vertx.getOrCreateContext(), Promise.promise());
    boolean start = false;
    synchronized (waiting) {
      waiting.add(unit);
      if (!busy) {
        busy = true;
        start = true;
      } else if (gatherTimer >= 0 && waiting.size() >= expect) {
        vertx.cancelTimer(gatherTimer);
        gatherTimer = -1;
        start = true;
      }
    }
    if (start) {
      commitNext();
    }
    return unit.promise().future();
  }

  /** Transactions that committed (for tests: grouped work takes fewer than one per unit). */
  long commits() {
    return commits.get();
  }

  private void commitNext() {
    List<Unit<?>> batch = new ArrayList<>();
    synchronized (waiting) {
      while (!waiting.isEmpty() && batch.size() < maxBatch) {
        batch.add(waiting.poll());
      }
      if (batch.isEmpty()) {
        busy = false;
        return;
      }
    }
    store.transaction(c -> runAll(c, batch)).onComplete(ar -> {
      if (ar.succeeded()) {
        commits.incrementAndGet();
        List<Done> done = ar.result();
        for (int i = 0; i < batch.size(); i++) {
          complete(batch.get(i), done.get(i));
        }
      } else {
        batch.forEach(u -> u.context().runOnContext(v -> u.promise().tryFail(ar.cause())));
      }
      gatherOrCommit(batch.size());
    });
  }

  private void gatherOrCommit(int answered) {
    synchronized (waiting) {
      expect = Math.max(1, answered);
      if (waiting.isEmpty() && answered <= 1) {
        busy = false;
        return;
      }
      if (waiting.size() < expect) {
        gatherTimer = vertx.setTimer(GATHER_MS, id -> {
          synchronized (waiting) {
            if (gatherTimer != id) {
              return;
            }
            gatherTimer = -1;
          }
          commitNext();
        });
        return;
      }
    }
    commitNext();
  }

  private static List<Done> runAll(Connection c, List<Unit<?>> batch) throws SQLException {
    List<Done> done = new ArrayList<>(batch.size());
    for (Unit<?> unit : batch) {
      Savepoint savepoint = c.setSavepoint();
      try {
        Object value = unit.work().apply(c);
        c.releaseSavepoint(savepoint);
        done.add(new Done(value, null));
      } catch (SQLException | RuntimeException e) {
        c.rollback(savepoint);
        c.releaseSavepoint(savepoint);
        done.add(new Done(null, e));
      }
    }
    return done;
  }

  @SuppressWarnings("unchecked")
  private static <T> void complete(Unit<T> unit, Done done) {
    unit.context().runOnContext(v -> {
      if (done.error() != null) {
        unit.promise().tryFail(done.error());
      } else {
        unit.promise().tryComplete((T) done.value());
      }
    });
  }
}
