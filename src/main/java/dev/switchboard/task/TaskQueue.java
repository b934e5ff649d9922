package dev.switchboard.task;

import dev.switchboard.bus.TaskSubmission.Priority;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The durable task queue, one behaviour on both profiles (the embedded SQLite store and Redis
 * Streams), proven by one suite run against both. It knows tasks as an opaque {@code spec} (what
 * the agent needs: input, model, channels, ...) plus what a queue must know: priority, when a task
 * may run, attempts, and who holds it.
 *
 * <p>Execution is at least once, with leases. {@link #lease} hands a worker tasks for a visibility
 * timeout; a worker extends its leases while it runs them. A worker that dies leaves its leases to
 * expire, and {@link #reclaim} (run by every instance) puts expired ones back in line without
 * counting the lost run as an attempt, or fails a task that lost too many workers (a poison task). Every change a worker makes to a leased task is
 * fenced by the lease's token: a worker whose lease expired and was taken over cannot complete,
 * fail or write the result of a task that another worker now holds.
 *
 * <p>A task's result is stored ({@link #saveResult}) before anything is pushed; a task that runs
 * again with a result already stored must not call the model again, only finish its deliveries.
 *
 * <p>Priorities are weighted, not strict: high is served most, low is slowed but never starved.
 */
public interface TaskQueue {

  String QUEUED = "queued";
  String RUNNING = "running";
  String SUCCEEDED = "succeeded";
  String FAILED = "failed";
  String CANCELLED = "cancelled";

  /** Finished states: nothing more happens to a task in them unless someone retries it by hand. */
  static boolean finished(String status) {
    return SUCCEEDED.equals(status) || FAILED.equals(status) || CANCELLED.equals(status);
  }

  /**
   * What to store. {@code runAt}: epoch ms before which the task does not run (0: now).
   * {@code idempotencyKey} is scoped by {@code subject}: the same key from another subject is
   * another task.
   */
  record NewTask(JsonObject spec, Priority priority, long runAt, int maxAttempts, String subject,
                 String idempotencyKey) {
  }

  /**
   * A stored task. {@code attempts} counts the runs that counted: started, and neither lost (their
   * worker died: those are counted in {@code lost}) nor handed back by a stop; {@code result} may be set
   * while the task is still running (stored, deliveries not finished yet); {@code trace}: what the
   * last run that asked the model did (agent.Trace), null when none did.
   */
  record Task(String id, JsonObject spec, Priority priority, String status, int attempts, int maxAttempts, int lost,
              long createdAt, long updatedAt, long runAt, String result, String error, String subject, JsonArray trace) {
  }

  /** {@code created} is false when the idempotency key matched an earlier task, which is answered instead. */
  record Submitted(Task task, boolean created) {
  }

  /** A task held by one worker until {@code until} (epoch ms); {@code token} fences every change it makes. */
  record Lease(Task task, String worker, String token, long until) {
  }

  /** What a fenced change came to. */
  enum Fenced {
    /** Done. */
    OK,
    /** The lease expired and the task is no longer this worker's (another holds it, or it is queued again). */
    LEASE_LOST,
    /** Someone cancelled the task: whatever the worker has is discarded, nothing is pushed. */
    CANCELLED
  }

  /** What {@link #cancel} and {@link #retry} found. */
  enum Change {
    DONE, NOT_FOUND, CONFLICT
  }

  record Changed(Change change, Task task) {
  }

  /** Per priority: waiting now (runnable), waiting for their time (delayed or retry-at), and the age of the oldest runnable one. */
  record Depth(long waiting, long scheduled, double oldestAgeSeconds) {
  }

  record Stats(Map<Priority, Depth> byPriority, long running) {
    public long waiting() {
      return byPriority.values().stream().mapToLong(Depth::waiting).sum();
    }
  }

  record Page(List<Task> tasks, String nextCursor) {
  }

  /** Stores the task; durable before the future completes. */
  Future<Submitted> submit(NewTask task);

  /** At most {@code max} runnable tasks for {@code worker}, each leased for {@code visibility}; none is an empty list. */
  Future<List<Lease>> lease(String worker, int max, Duration visibility);

  /** Keeps the lease for {@code visibility} more; false when it was lost. */
  Future<Fenced> extend(Lease lease, Duration visibility);

  /** Stores the result of a leased task (still running: its deliveries are next). */
  default Future<Fenced> saveResult(Lease lease, String result) {
    return saveResult(lease, result, null);
  }

  /**
   * Stores the result, and the trace of the run that produced it (null: the stored trace, if any,
   * stays). The trace is the caller's to bound (agent.Trace is).
   */
  Future<Fenced> saveResult(Lease lease, String result, JsonArray trace);

  /** The task succeeded; its result was stored before. */
  Future<Fenced> complete(Lease lease);

  /**
   * The run failed. With {@code retryAt > 0} and attempts left, the task is queued again for that
   * time (epoch ms); otherwise it fails for good with {@code error}.
   */
  default Future<Fenced> fail(Lease lease, String error, long retryAt) {
    return fail(lease, error, retryAt, null);
  }

  /**
   * {@link #fail(Lease, String, long)}, storing the failed run's trace (null: the stored one
   * stays): a task that is retried shows the trace of its last attempt.
   */
  Future<Fenced> fail(Lease lease, String error, long retryAt, JsonArray trace);

  /** Gives a leased task back at once, as if this run had not started (a graceful stop). */
  Future<Fenced> release(Lease lease);

  /**
   * Expired leases go back in line, the lost run counted in {@code lost}, not in {@code attempts}
   * (the task did not fail: its worker died); a task that lost {@code queue.max_lost} workers fails
   * instead, with {@code "worker lost N times (queue.max_lost)"}. Answers how many were put back or failed.
   */
  Future<Integer> reclaim();

  /**
   * Cancels a queued or running task: a queued one never runs, a running one's result is
   * discarded ({@link Fenced#CANCELLED}). {@link Change#CONFLICT} for a finished task.
   */
  Future<Changed> cancel(String id);

  /** Queues a failed or cancelled task again, attempts from zero. {@link Change#CONFLICT} otherwise. */
  Future<Changed> retry(String id);

  Future<Optional<Task>> get(String id);

  /** Newest first; {@code status}, {@code priority} null for any; {@code cursor} from an earlier page. */
  Future<Page> list(String status, Priority priority, int limit, String cursor);

  Future<Stats> stats();

  /** Removes finished tasks last changed before {@code before} (epoch ms); answers how many. */
  Future<Integer> purge(long before);

  /**
   * Completes when work may be waiting (a submission, a delayed task coming due, a task given
   * back), or after {@code maxMillis}; never fails. Workers call it when {@link #lease} found nothing.
   */
  Future<Void> awaitWork(long maxMillis);

  /** Whether the store answers (for /readyz). */
  Future<Void> ping();

  Future<Void> close();
}
