package dev.switchboard.task;

import dev.switchboard.bus.Failure;
import dev.switchboard.bus.TaskSubmission.Priority;
import dev.switchboard.store.SeqCursor;
import dev.switchboard.task.RedisScripts.Script;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import io.vertx.redis.client.ResponseType;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The task queue of the distributed profile, on Redis Streams; every instance of the gateway uses
 * the same keys, so their workers share one line. A task is a hash; a runnable task is an entry in
 * the stream of its priority, read through the consumer group {@code workers}; a lease is that
 * entry pending for the worker (the consumer), with the lease's token and deadline in the hash.
 * Tasks waiting for their time (a delay, a retry-at) wait in a sorted set per priority, and the
 * lease script moves those that came due into the line before it reads. See {@link RedisScripts}
 * for the keys and for what each step does atomically.
 *
 * <p>Reclaiming uses XAUTOCLAIM with the visibility timeout as min-idle, which finds the entries no
 * worker extended for that long; the hash's deadline has the last word, and the task's attempts
 * (a field, since a task re-enters the line as a new entry) send a poison task to {@code failed}.
 * The min-idle is the visibility timeout given to the constructor, or a shorter visibility that a
 * lease or extend of this instance used: a lease with a shorter visibility than every instance's
 * min-idle is reclaimed only after that min-idle.
 *
 * <p>Durability is Redis's: run it with {@code appendonly yes} (AOF), or an accepted task can be
 * lost when Redis dies. A Redis that is down costs each call at most the connect timeout (2 s) or
 * the command timeout (5 s), and fails it with "the task store is unavailable"; once Redis is
 * back the pool reconnects, scripts are loaded again when Redis answers NOSCRIPT, the blocking
 * connection of {@link #awaitWork} is opened again, and the consumer groups of streams that
 * vanished are created again.
 */
public final class RedisTaskQueue implements TaskQueue {

  public static final String DEFAULT_PREFIX = "switchboard:queue:";
  public static final Duration DEFAULT_VISIBILITY = Duration.ofSeconds(60);

  // A Redis that is down must cost a call seconds, not the OS's minute-long connect timeout.
  private static final int CONNECT_TIMEOUT_MS = 2_000;
  // The client has no reply timeout of its own: a stalled server would hold callers forever.
  private static final long COMMAND_TIMEOUT_MS = 5_000;
  private static final int MAX_POOL_SIZE = 8;
  // Past this many callers queued for a connection, failing fast beats piling up behind a sick Redis.
  private static final int MAX_POOL_WAITING = 256;
  // How long one BZPOPMIN blocks: short enough to notice a task coming due that another instance
  // scheduled (read again each round), long enough to cost Redis next to nothing.
  private static final int BLOCK_MS = 1_000;
  private static final long BLOCKING_RETRY_MS = 500;
  private static final int MAX_LEASE = 1_000;
  private static final int MAX_LIST = 1_000;
  private static final int PURGE_BATCH = 500;
  // Calls of one script on the wire at once (see Batcher): two keep Redis busy while the answer
  // to the other travels back; more would only split the waiting callers into smaller groups.
  private static final int BATCH_IN_FLIGHT = 2;
  // Bounds how long one call holds Redis (its scripts block every other client meanwhile).
  private static final int MAX_BATCH = 128;

  private static final Set<String> STATUSES = Set.of(QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED);

  private final Vertx vertx;
  private final String prefix;
  private final Redis redis;
  /** Only for BZPOPMIN: a blocked connection must not be one the pool hands to other calls. */
  private final Redis blocking;
  private final WorkSignal signal;
  private final AtomicBoolean polling = new AtomicBoolean();
  private final Batcher submits = new Batcher(RedisScripts.SUBMIT);
  private final Batcher completes = new Batcher(RedisScripts.COMPLETE);
  private volatile long minIdle;
  private final int maxLost;
  private volatile boolean closed;

  public RedisTaskQueue(Vertx vertx, String redisUrl) {
    this(vertx, redisUrl, DEFAULT_PREFIX, DEFAULT_VISIBILITY);
  }

  public RedisTaskQueue(Vertx vertx, String redisUrl, String prefix, Duration visibilityTimeout) {
    this(vertx, redisUrl, prefix, visibilityTimeout, QueueSettings.DEFAULT_MAX_LOST);
  }

  /**
   * {@code prefix}: the start of every key; {@code visibilityTimeout}: the lease time workers use;
   * {@code maxLost}: runs whose worker was lost after which a task fails (queue.max_lost).
   */
  public RedisTaskQueue(Vertx vertx, String redisUrl, String prefix, Duration visibilityTimeout, int maxLost) {
    this.vertx = vertx;
    this.prefix = prefix;
    this.maxLost = maxLost;
    this.minIdle = Math.max(1, visibilityTimeout.toMillis());
    this.redis = Redis.createClient(vertx, options(redisUrl, MAX_POOL_SIZE));
    this.blocking = Redis.createClient(vertx, options(redisUrl, 1));
    this.signal = new WorkSignal(vertx);
  }

  private static RedisOptions options(String redisUrl, int poolSize) {
    RedisOptions options = new RedisOptions()
        .setConnectionString(redisUrl)
        .setMaxPoolSize(poolSize)
        .setMaxPoolWaiting(MAX_POOL_WAITING);
    options.getNetClientOptions().setConnectTimeout(CONNECT_TIMEOUT_MS);
    return options;
  }

  // ---------------------------------------------------------------------------------------------

  @Override
  public Future<Submitted> submit(NewTask task) {
    if (task == null || task.spec() == null || task.priority() == null || task.maxAttempts() < 1) {
      return Future.failedFuture(Failure.badRequest("invalid_task", "a task needs a spec, a priority and max_attempts >= 1"));
    }
    String idem = task.idempotencyKey() == null ? "" : idempotencyKey(task.subject(), task.idempotencyKey());
    String id = UUID.randomUUID().toString();
    return submits.call(id, task.spec().encode(), task.priority().label(), Long.toString(task.runAt()),
            Integer.toString(task.maxAttempts()), task.subject() == null ? "" : task.subject(), task.subject() == null ? "0" : "1",
            idem)
        .map(r -> {
          if (r.get(0).toInteger() == 0) {
            return new Submitted(task(fields(r.get(1))), false);
          }
          // a new task is what was sent, with the times Redis gave it: no need to read it back
          long now = Long.parseLong(r.get(1).toString());
          long runAt = Long.parseLong(r.get(2).toString());
          signal.wakeAt(runAt);
          return new Submitted(new Task(id, task.spec().copy(), task.priority(), QUEUED, 0, task.maxAttempts(), 0, now, now, runAt,
              null, null, task.subject(), null), true);
        });
  }

  /** One caller's key: the subject's length keeps "a" + "b:c" apart from "a:b" + "c". */
  private String idempotencyKey(String subject, String key) {
    return prefix + "k:" + (subject == null ? "-" : subject.length() + ":" + subject) + ":" + key;
  }

  @Override
  public Future<List<Lease>> lease(String worker, int max, Duration visibility) {
    if (max <= 0) {
      return Future.succeededFuture(List.of());
    }
    int n = Math.min(max, MAX_LEASE);
    noteVisibility(visibility);
    List<String> args = new ArrayList<>(n + 3);
    args.add(workerName(worker));
    args.add(Integer.toString(n));
    args.add(Long.toString(Math.max(1, visibility.toMillis())));
    for (int i = 0; i < n; i++) {
      args.add(UUID.randomUUID().toString());
    }
    return eval(RedisScripts.LEASE, args.toArray(String[]::new)).map(r -> {
      List<Lease> leases = new ArrayList<>(r.size());
      for (Response t : r) {
        Map<String, String> f = fields(t);
        leases.add(new Lease(task(f), f.get("lease_owner"), f.get("lease_token"), Long.parseLong(f.get("lease_until"))));
      }
      return leases;
    });
  }

  /** A consumer of the group needs a name (the embedded queue uses the same one). */
  private static String workerName(String worker) {
    return worker == null || worker.isEmpty() ? "worker" : worker;
  }

  /** Leases with a shorter visibility than the configured one must not wait for the longer one. */
  private void noteVisibility(Duration visibility) {
    long ms = Math.max(1, visibility.toMillis());
    if (ms < minIdle) {
      minIdle = ms;
    }
  }

  @Override
  public Future<Fenced> extend(Lease lease, Duration visibility) {
    noteVisibility(visibility);
    return fenced(RedisScripts.EXTEND, lease, Long.toString(Math.max(1, visibility.toMillis())));
  }

  @Override
  public Future<Fenced> saveResult(Lease lease, String result, JsonArray trace) {
    return fenced(RedisScripts.SAVE_RESULT, lease, result == null ? "" : result, trace == null ? "" : trace.encode());
  }

  @Override
  public Future<Fenced> complete(Lease lease) {
    return completes.call(lease.task().id(), lease.token()).map(r -> Fenced.valueOf(r.toString()));
  }

  @Override
  public Future<Fenced> fail(Lease lease, String error, long retryAt, JsonArray trace) {
    return fenced(RedisScripts.FAIL, lease, error == null ? "" : error, Long.toString(Math.max(0, retryAt)),
            trace == null ? "" : trace.encode())
        .onSuccess(f -> {
          if (f == Fenced.OK && retryAt > 0) {
            // attempts may have been used up, in which case nothing comes due and the wake-up is idle
            signal.wakeAt(retryAt);
          }
        });
  }

  @Override
  public Future<Fenced> release(Lease lease) {
    return fenced(RedisScripts.RELEASE, lease).onSuccess(f -> {
      if (f == Fenced.OK) {
        signal.wakeAll();
      }
    });
  }

  private Future<Fenced> fenced(Script script, Lease lease, String... more) {
    String[] args = new String[2 + more.length];
    args[0] = lease.task().id();
    args[1] = lease.token();
    System.arraycopy(more, 0, args, 2, more.length);
    return eval(script, args).map(r -> Fenced.valueOf(r.toString()));
  }

  @Override
  public Future<Integer> reclaim() {
    return eval(RedisScripts.RECLAIM, Long.toString(minIdle), Integer.toString(maxLost)).map(r -> {
      int n = r.toInteger();
      if (n > 0) {
        signal.wakeAll();
      }
      return n;
    });
  }

  @Override
  public Future<Changed> cancel(String id) {
    return eval(RedisScripts.CANCEL, id).map(RedisTaskQueue::changed);
  }

  @Override
  public Future<Changed> retry(String id) {
    return eval(RedisScripts.RETRY, id).map(RedisTaskQueue::changed).onSuccess(c -> {
      if (c.change() == Change.DONE) {
        signal.wakeAll();
      }
    });
  }

  private static Changed changed(Response r) {
    Change change = Change.valueOf(r.get(0).toString());
    return new Changed(change, r.size() > 1 ? task(fields(r.get(1))) : null);
  }

  @Override
  public Future<Optional<Task>> get(String id) {
    return guard(redis.send(Request.cmd(Command.HGETALL).arg(prefix + "t:" + id)))
        .map(r -> r == null || r.size() == 0 ? Optional.<Task>empty() : Optional.of(task(fields(r))));
  }

  @Override
  public Future<Page> list(String status, Priority priority, int limit, String cursor) {
    if (status != null && !STATUSES.contains(status)) {
      return Future.failedFuture(Failure.badRequest("invalid_status", "status must be one of " + String.join(", ",
          List.of(QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)) + ", got '" + status + "'"));
    }
    long below;
    try {
      below = SeqCursor.TASKS.decode(cursor);
    } catch (Failure bad) {
      return Future.failedFuture(bad);
    }
    int n = Math.max(1, Math.min(limit, MAX_LIST));
    return eval(RedisScripts.LIST, status == null ? "" : status, priority == null ? "" : priority.label(),
        Integer.toString(n), below == Long.MAX_VALUE ? "" : Long.toString(below))
        .map(r -> {
          List<Task> tasks = new ArrayList<>(r.size() - 1);
          for (int i = 1; i < r.size(); i++) {
            tasks.add(task(fields(r.get(i))));
          }
          String next = r.get(0).toString();
          return new Page(tasks, next.isEmpty() ? null : SeqCursor.TASKS.encode(Long.parseLong(next)));
        });
  }

  @Override
  public Future<Stats> stats() {
    return eval(RedisScripts.STATS).map(r -> {
      Map<Priority, Depth> byPriority = new EnumMap<>(Priority.class);
      for (Priority p : Priority.values()) {
        int at = 3 * p.ordinal();
        byPriority.put(p, new Depth(Long.parseLong(r.get(at).toString()), Long.parseLong(r.get(at + 1).toString()),
            Long.parseLong(r.get(at + 2).toString()) / 1000.0));
      }
      return new Stats(byPriority, Long.parseLong(r.get(9).toString()));
    });
  }

  @Override
  public Future<Integer> purge(long before) {
    return purgeFrom(before, 0);
  }

  private Future<Integer> purgeFrom(long before, int sofar) {
    return eval(RedisScripts.PURGE, Long.toString(before), Integer.toString(PURGE_BATCH)).compose(r -> {
      int removed = sofar + r.get(0).toInteger();
      return r.get(1).toInteger() < PURGE_BATCH ? Future.succeededFuture(removed) : purgeFrom(before, removed);
    });
  }

  // ---------------------------------------------------------------------------------------------
  // waiting for work

  @Override
  public Future<Void> awaitWork(long maxMillis) {
    Future<Void> woken = signal.await(maxMillis);
    startPolling();
    return woken;
  }

  private void startPolling() {
    if (!closed && signal.hasWaiters() && polling.compareAndSet(false, true)) {
      poll();
    }
  }

  /**
   * One round while someone waits: when does the next waiting task come due (a timer wakes the
   * waiters then), and one BZPOPMIN on the marker that submissions, releases and the mover touch.
   * A Redis that is down makes a round fail; the next one is tried a little later, on a new
   * connection, and the waiters still complete at their own time.
   */
  private void poll() {
    if (closed || !signal.hasWaiters()) {
      polling.set(false);
      // a waiter that came after the look above started no round of its own: start it here
      startPolling();
      return;
    }
    eval(RedisScripts.NEXT_DUE)
        .onSuccess(due -> {
          if (due != null) {
            signal.wakeAt(Long.parseLong(due.toString()));
          }
        })
        .compose(v -> blocking.send(Request.cmd(Command.BZPOPMIN).arg(prefix + "marker").arg(BLOCK_MS / 1000.0))
            .timeout(BLOCK_MS + COMMAND_TIMEOUT_MS, TimeUnit.MILLISECONDS))
        .onComplete(ar -> {
          if (ar.failed()) {
            vertx.setTimer(BLOCKING_RETRY_MS, id -> poll());
            return;
          }
          Response popped = ar.result();
          if (popped != null && popped.size() >= 3) {
            long score = (long) Double.parseDouble(popped.get(2).toString());
            if (score <= 0) {
              signal.wakeAll();
            } else {
              signal.wakeAt(score);
            }
          }
          poll();
        });
  }

  @Override
  public Future<Void> ping() {
    return guard(redis.send(Request.cmd(Command.PING))).mapEmpty();
  }

  @Override
  public Future<Void> close() {
    closed = true;
    signal.close();
    return Future.join(redis.close(), blocking.close()).mapEmpty();
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * Calls of one script (submit, complete) that arrive while {@link #BATCH_IN_FLIGHT} calls of it
   * are on the wire wait and then go together as one call, the script doing each in order as if
   * they had come one by one; alone, a call is sent at once. Under load this is what lets Redis,
   * and this process, spend their time on tasks rather than on round trips and script calls (a
   * script call costs tens of microseconds before it does anything), and it keeps the connections
   * of the pool, and the callers waiting for one, few. Each caller's future completes when the
   * call that carried it was answered, so a submission is as durable when it completes as before.
   * A call that fails fails every caller it carried.
   */
  /** Below the task component's 2 s submission bound, so an unsent submission fails before its caller gives up. */
  private static final long UNSENT_NANOS = 1_500_000_000L;
  private static final int MAX_UNSENT = 10_000;

  private final class Batcher {

    /** {@code deadline} (System.nanoTime): a call not sent by then is failed, never sent later. */
    private record Call(String[] args, Context context, Promise<Response> promise, long deadline) {
    }

    private final Script script;
    private final ArrayDeque<Call> waiting = new ArrayDeque<>();
    // guarded by waiting
    private int inFlight;

    Batcher(Script script) {
      this.script = script;
    }

    /** One caller's arguments (after the prefix); answers its element of the script's reply. */
    Future<Response> call(String... args) {
      Call call = new Call(args, vertx.getOrCreateContext(), Promise.promise(), System.nanoTime() + UNSENT_NANOS);
      boolean send;
      synchronized (waiting) {
        if (waiting.size() >= MAX_UNSENT) {
          return Future.failedFuture(Failure.unavailable("store_unavailable",
              "Redis is not keeping up: " + MAX_UNSENT + " calls are waiting to be sent"));
        }
        waiting.add(call);
        send = inFlight < BATCH_IN_FLIGHT;
        if (send) {
          inFlight++;
        }
      }
      if (send) {
        sendNext();
      }
      return call.promise().future();
    }

    private void sendNext() {
      List<Call> batch = new ArrayList<>();
      List<Call> expired = new ArrayList<>();
      int argc = 0;
      long now = System.nanoTime();
      synchronized (waiting) {
        while (!waiting.isEmpty() && batch.size() < MAX_BATCH) {
          Call c = waiting.poll();
          // its caller has been told the store did not answer: sending it now would store a task
          // that the client was told is not stored
          if (now - c.deadline() > 0) {
            expired.add(c);
            continue;
          }
          batch.add(c);
          argc += c.args().length;
        }
        if (batch.isEmpty()) {
          inFlight--;
        }
      }
      expired.forEach(c -> settle(c, null, Failure.unavailable("store_unavailable",
          "Redis did not take the call within " + UNSENT_NANOS / 1_000_000 + " ms")));
      if (batch.isEmpty()) {
        return;
      }
      String[] args = new String[argc];
      int at = 0;
      for (Call c : batch) {
        System.arraycopy(c.args(), 0, args, at, c.args().length);
        at += c.args().length;
      }
      eval(script, args).onComplete(ar -> {
        for (int i = 0; i < batch.size(); i++) {
          Call c = batch.get(i);
          if (ar.failed()) {
            settle(c, null, ar.cause());
          } else if (ar.result() == null || ar.result().size() <= i) {
            settle(c, null, Failure.internal("the " + script.name() + " script answered " + batch.size() + " calls short"));
          } else {
            settle(c, ar.result().get(i), null);
          }
        }
        sendNext();
      });
    }

    /** On the caller's context, as its own call to Redis would have completed. */
    private void settle(Call c, Response r, Throwable error) {
      if (Vertx.currentContext() == c.context()) {
        complete(c, r, error);
      } else {
        c.context().runOnContext(v -> complete(c, r, error));
      }
    }

    private static void complete(Call c, Response r, Throwable error) {
      if (error != null) {
        c.promise().tryFail(error);
      } else {
        c.promise().tryComplete(r);
      }
    }
  }

  /** EVALSHA, and EVAL when Redis does not know the script (restarted, SCRIPT FLUSH), which loads it again. */
  private Future<Response> eval(Script script, String... args) {
    if (closed) {
      return Future.failedFuture(Failure.unavailable("store_unavailable", "the task store is unavailable: the queue is closed"));
    }
    return guard(redis.send(request(Command.EVALSHA, script.sha(), args))
        .recover(e -> noScript(e) ? redis.send(request(Command.EVAL, script.source(), args)) : Future.failedFuture(e)));
  }

  private Request request(Command command, String script, String... args) {
    Request r = Request.cmd(command).arg(script).arg(0).arg(prefix);
    for (String a : args) {
      r.arg(a);
    }
    return r;
  }

  private static boolean noScript(Throwable e) {
    return e.getMessage() != null && e.getMessage().startsWith("NOSCRIPT");
  }

  /**
   * Bounds a call in time and turns whatever went wrong into the failure callers expect. A command
   * that timed out may still run once Redis wakes up: a submission reported as failed can land.
   */
  private static <T> Future<T> guard(Future<T> call) {
    return call.timeout(COMMAND_TIMEOUT_MS, TimeUnit.MILLISECONDS).recover(t -> Future.failedFuture(failure(t)));
  }

  private static Failure failure(Throwable t) {
    if (t instanceof Failure f) {
      return f;
    }
    String message = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    // Most error replies are Redis not serving right now (LOADING, BUSY, OOM, READONLY, NOAUTH...,
    // also when a script's write is refused); a script that broke (ERR ... script ...) or a key of
    // ours holding another type is a defect no retry fixes.
    if (t instanceof Response reply && reply.type() == ResponseType.ERROR
        && (message.startsWith("WRONGTYPE") || message.startsWith("ERR") && message.contains("script"))) {
      return Failure.internal("a task queue script failed in Redis: " + message);
    }
    return Failure.unavailable("store_unavailable", "the task store is unavailable: Redis: " + message);
  }

  /** A hash's fields: a flat list from a script (RESP2 inside Lua), a map from HGETALL on a RESP3 connection. */
  private static Map<String, String> fields(Response flat) {
    Map<String, String> f = new HashMap<>();
    if (flat.isMap()) {
      for (String key : flat.getKeys()) {
        f.put(key, flat.get(key).toString(StandardCharsets.UTF_8));
      }
      return f;
    }
    for (int i = 0; i + 1 < flat.size(); i += 2) {
      f.put(flat.get(i).toString(), flat.get(i + 1).toString(StandardCharsets.UTF_8));
    }
    return f;
  }

  private static Task task(Map<String, String> f) {
    return new Task(f.get("id"), new JsonObject(f.get("spec")), Priority.valueOf(f.get("priority").toUpperCase(Locale.ROOT)),
        f.get("status"), Integer.parseInt(f.get("attempts")), Integer.parseInt(f.get("max_attempts")),
        // hashes written before lost runs were counted have none
        f.get("lost") == null ? 0 : Integer.parseInt(f.get("lost")),
        Long.parseLong(f.get("created_at")), Long.parseLong(f.get("updated_at")), Long.parseLong(f.get("run_at")),
        f.get("result"), f.get("error"), f.get("subject"), EmbeddedTaskQueue.trace(f.get("trace")));
  }
}
