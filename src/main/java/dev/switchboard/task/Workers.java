package dev.switchboard.task;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;

/**
 * This instance's workers: up to {@code queue.workers} tasks at a time, leased in batches from the
 * queue (shared with every other instance on the distributed profile) and kept while they run by
 * extending their leases every third of the visibility timeout. A worker that dies stops
 * extending, and another instance reclaims its tasks when the leases run out.
 *
 * <p>A store that cannot be reached pauses the leasing, which is tried again every second, so
 * work resumes within a second or two of the store being back. A graceful stop leases nothing
 * more, lets running tasks finish for {@code queue.shutdown_grace} and hands the rest back at once.
 * Everything here runs on the verticle's event loop.
 */
final class Workers {

  private static final Logger LOG = Logger.getLogger(Workers.class.getName());

  /** How long a worker with nothing to do waits for a sign of work before asking the queue again. */
  private static final long IDLE_WAIT_MS = 1_000;
  private static final long STORE_RETRY_MS = 1_000;

  private final Vertx vertx;
  private final TaskQueue queue;
  private final TaskRunner runner;
  private final String worker;
  private final int size;
  private final Duration visibility;
  private final Duration grace;
  /** Running now, by task id. */
  private final Map<String, TaskQueue.Lease> running = new LinkedHashMap<>();
  /** The lease call under way, if any: a stop waits for it and gives back what it brings. */
  private Future<Void> leasing;
  private boolean waiting;
  private boolean stopping;
  /** Whether the last lease call failed: logged when the outage starts and ends, not every second. */
  private boolean storeDown;
  private long extendTimer = -1;
  private Promise<Void> drained;

  Workers(Vertx vertx, TaskQueue queue, TaskRunner runner, String worker, QueueSettings settings) {
    this.vertx = vertx;
    this.queue = queue;
    this.runner = runner;
    this.worker = worker;
    this.size = settings.workers();
    this.visibility = settings.visibilityTimeout();
    this.grace = settings.shutdownGrace();
  }

  void start() {
    extendTimer = vertx.setPeriodic(Math.max(100, visibility.toMillis() / 3), id -> extendAll());
    pump();
  }

  int running() {
    return running.size();
  }

  /** Leases as many tasks as workers are free, unless a lease or a wait for work is already under way. */
  private void pump() {
    int free = size - running.size();
    if (stopping || leasing != null || waiting || free <= 0) {
      return;
    }
    Promise<Void> leased = Promise.promise();
    leasing = leased.future();
    queue.lease(worker, free, visibility).onComplete(ar -> {
      leasing = null;
      if (ar.failed()) {
        if (!storeDown) {
          LOG.warning("workers paused: the task store cannot be reached (" + ar.cause().getMessage()
              + "); trying again every " + STORE_RETRY_MS / 1000 + "s");
        }
        storeDown = true;
        waiting = true;
        leased.complete();
        vertx.setTimer(STORE_RETRY_MS, id -> {
          waiting = false;
          pump();
        });
        return;
      }
      if (storeDown) {
        LOG.info("workers resumed: the task store answers again");
        storeDown = false;
      }
      List<TaskQueue.Lease> leases = ar.result();
      if (stopping) {
        // stopped while the lease was under way: these were never started, give them back before the stop ends
        List<Future<TaskQueue.Fenced>> released = new ArrayList<>();
        leases.forEach(lease -> released.add(queue.release(lease)));
        Future.join(released).onComplete(v -> leased.complete());
        return;
      }
      leased.complete();
      leases.forEach(this::begin);
      if (leases.isEmpty()) {
        waiting = true;
        queue.awaitWork(IDLE_WAIT_MS).onComplete(v -> {
          waiting = false;
          pump();
        });
      } else {
        pump();
      }
    });
  }

  private void begin(TaskQueue.Lease lease) {
    String id = lease.task().id();
    running.put(id, lease);
    // on a context of its own that carries the submitting request's id and the task's
    dev.switchboard.observe.RequestIds.within(vertx, lease.task().spec().getString("request_id"), id,
        () -> runner.run(lease)).onComplete(ar -> {
      running.remove(id);
      if (stopping) {
        if (running.isEmpty() && drained != null) {
          drained.tryComplete();
        }
        return;
      }
      pump();
    });
  }

  /**
   * Keeps the running tasks' leases. A lease found lost (expired and taken over, or the task
   * cancelled) is left alone: the run's own next change finds out and stops.
   */
  private void extendAll() {
    for (TaskQueue.Lease lease : new ArrayList<>(running.values())) {
      queue.extend(lease, visibility).onComplete(ar -> {
        if (ar.succeeded() && ar.result() != TaskQueue.Fenced.OK) {
          LOG.fine(() -> "task " + lease.task().id() + ": lease " + ar.result() + " while running");
        }
      });
    }
  }

  /** Leases nothing more; waits up to the grace for running tasks, then hands the others back. */
  Future<Void> stop() {
    stopping = true;
    Future<Void> inFlight = leasing == null ? Future.succeededFuture() : leasing;
    if (running.isEmpty()) {
      vertx.cancelTimer(extendTimer);
      return inFlight;
    }
    LOG.info("stopping: waiting up to " + grace.toSeconds() + "s for " + running.size() + " running task(s)");
    drained = Promise.promise();
    long timer = vertx.setTimer(Math.max(1, grace.toMillis()), id -> drained.tryComplete());
    return drained.future().compose(v -> {
      vertx.cancelTimer(timer);
      vertx.cancelTimer(extendTimer);
      List<Future<TaskQueue.Fenced>> released = new ArrayList<>();
      running.values().forEach(lease -> released.add(queue.release(lease)));
      if (!released.isEmpty()) {
        LOG.info("stopping: handed " + released.size() + " unfinished task(s) back to the queue");
      }
      return Future.join(released).<Void>mapEmpty().recover(e -> Future.succeededFuture());
    }).eventually(() -> inFlight);
  }
}
