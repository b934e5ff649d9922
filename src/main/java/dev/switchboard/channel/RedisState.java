package dev.switchboard.channel;

import dev.switchboard.bus.Failure;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import io.vertx.redis.client.ResponseType;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * The channel component's connection to Redis in the distributed profile (claims, deliveries, rate
 * windows), bounded the way memory's is: a Redis that is down costs a caller seconds, and every
 * failure says "Redis is unavailable" so that callers answer 503 and try again later. Nothing is
 * held open across an outage: the pool connects afresh once Redis answers again.
 */
final class RedisState {

  private static final Logger LOG = Logger.getLogger(RedisState.class.getName());

  // A Redis that is down must cost a request seconds, not the OS's minute-long connect timeout.
  static final int CONNECT_TIMEOUT_MS = 2_000;
  // The client has no reply timeout of its own: a stalled server would hold callers forever.
  static final long COMMAND_TIMEOUT_MS = 5_000;
  private static final int MAX_POOL_SIZE = 8;
  // Past this many callers queued for a connection, failing fast beats piling up behind a sick Redis.
  private static final int MAX_POOL_WAITING = 256;

  private final Redis redis;
  private final String prefix;
  private final String what;
  /** Whether the last call got through: an outage is logged when it starts and when it ends, not per call. */
  private volatile boolean up = true;

  RedisState(Vertx vertx, String url, String prefix, String what) {
    RedisOptions options = new RedisOptions()
        .setConnectionString(url)
        .setMaxPoolSize(MAX_POOL_SIZE)
        .setMaxPoolWaiting(MAX_POOL_WAITING);
    options.getNetClientOptions().setConnectTimeout(CONNECT_TIMEOUT_MS);
    this.redis = Redis.createClient(vertx, options);
    this.prefix = prefix;
    this.what = what;
  }

  /** What every key of this component starts with, so that deployments (and tests) sharing a Redis never meet. */
  String prefix() {
    return prefix;
  }

  Future<Response> send(Request request) {
    return guard(redis.send(request));
  }

  /** A Lua script with its keys and arguments (Redis caches scripts by their text). */
  Future<Response> eval(String script, List<String> keys, List<String> args) {
    Request eval = Request.cmd(Command.EVAL).arg(script).arg(keys.size());
    keys.forEach(eval::arg);
    args.forEach(eval::arg);
    return send(eval);
  }

  Future<Void> ping() {
    return send(Request.cmd(Command.PING)).mapEmpty();
  }

  Future<Void> close() {
    return redis.close();
  }

  /**
   * Bounds a call in time, turns whatever went wrong into the failure callers expect, and
   * completes on the caller's context: the verticles keep their state on their event loop. A
   * command that timed out may still run once Redis wakes up; the scripts are written so that
   * running one late is harmless (fenced, or idempotent).
   */
  private <T> Future<T> guard(Future<T> call) {
    Context caller = Vertx.currentContext();
    Future<T> bounded = call.timeout(COMMAND_TIMEOUT_MS, TimeUnit.MILLISECONDS)
        .recover(t -> Future.failedFuture(failure(t)))
        .onComplete(ar -> noteOutcome(ar.failed() ? ar.cause() : null));
    if (caller == null) {
      return bounded;
    }
    Promise<T> back = Promise.promise();
    bounded.onComplete(ar -> {
      if (Vertx.currentContext() == caller) {
        back.handle(ar);
      } else {
        caller.runOnContext(v -> back.handle(ar));
      }
    });
    return back.future();
  }

  private void noteOutcome(Throwable failure) {
    boolean ok = failure == null || failure instanceof Failure f && f.status() != 503;
    if (ok && !up) {
      up = true;
      LOG.info(what + ": Redis answers again");
    } else if (!ok && up) {
      up = false;
      LOG.warning(what + ": " + failure.getMessage() + " (retrying; nothing accepted is dropped)");
    }
  }

  private static Failure failure(Throwable t) {
    if (t instanceof Failure f) {
      return f;
    }
    String message = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    // Most error replies are Redis not serving right now (LOADING, BUSY, OOM, NOAUTH...); a key of
    // ours holding another type, or a script error, is a defect or a data problem no retry fixes.
    if (t instanceof Response reply && reply.type() == ResponseType.ERROR
        && (message.contains("WRONGTYPE") || message.startsWith("ERR Error running script") || message.contains("user_script"))) {
      return Failure.internal("Redis rejected a channel command: " + message);
    }
    return Failure.unavailable("store_unavailable", "Redis is unavailable: " + message);
  }
}
