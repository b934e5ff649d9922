package dev.switchboard.cluster;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.concurrent.TimeUnit;

/**
 * The cluster's Redis: a small pool, and every command bounded in time. Leadership is decided by
 * timing, so a command that hangs must fail well inside the lease instead of holding a renewal.
 */
final class RedisCalls {

  /** Leases, tokens, the registry and the bulletin live under this prefix. */
  static final String NAMESPACE = "switchboard:cluster:";

  // A Redis that is down must cost a renewal a second or two, not the OS's minute-long connect timeout.
  private static final int CONNECT_TIMEOUT_MS = 2_000;
  // The client has no reply timeout of its own; well below the lease so one slow reply cannot lose it.
  static final long COMMAND_TIMEOUT_MS = 2_000;
  // A renewal, a heartbeat, a bulletin read or write at a time: a few connections are plenty.
  private static final int MAX_POOL_SIZE = 4;
  private static final int MAX_POOL_WAITING = 64;

  private final Redis redis;

  RedisCalls(Redis redis) {
    this.redis = redis;
  }

  static RedisCalls connect(Vertx vertx, String url) {
    RedisOptions options = new RedisOptions()
        .setConnectionString(url)
        .setMaxPoolSize(MAX_POOL_SIZE)
        .setMaxPoolWaiting(MAX_POOL_WAITING);
    options.getNetClientOptions().setConnectTimeout(CONNECT_TIMEOUT_MS);
    return new RedisCalls(Redis.createClient(vertx, options));
  }

  /** One Lua script, bounded in time. */
  Future<Response> eval(String script, java.util.List<String> keys, Object... args) {
    Request r = Request.cmd(Command.EVAL).arg(script).arg(keys.size());
    keys.forEach(r::arg);
    for (Object a : args) {
      r.arg(String.valueOf(a));
    }
    return redis.send(r).timeout(COMMAND_TIMEOUT_MS, TimeUnit.MILLISECONDS);
  }

  Future<Response> send(Request request) {
    return redis.send(request).timeout(COMMAND_TIMEOUT_MS, TimeUnit.MILLISECONDS);
  }

  Future<Void> close() {
    return redis.close();
  }

  /** A failure's message for a log line: Redis errors and timeouts alike. */
  static String why(Throwable t) {
    return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
  }
}
