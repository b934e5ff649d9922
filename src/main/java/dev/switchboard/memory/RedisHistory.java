package dev.switchboard.memory;

import dev.switchboard.bus.Failure;
import io.vertx.core.Future;
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
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Short-term memory of the distributed profile: a scope's turns in the Redis list
 * {@code switchboard:history:<scope>} (JSON, oldest first) and its summary in the string
 * {@code switchboard:summary:<scope>}, both expiring {@code ttl} after the scope was last written.
 * Writes are Lua scripts so each is one atomic step without holding a connection for MULTI.
 */
final class RedisHistory implements ShortTermStore {

  private static final String HISTORY = "switchboard:history:";
  private static final String SUMMARY = "switchboard:summary:";

  // A Redis that is down must cost a request seconds, not the OS's minute-long connect timeout.
  private static final int CONNECT_TIMEOUT_MS = 2_000;
  // The client has no reply timeout of its own: a stalled server would hold callers forever.
  private static final long COMMAND_TIMEOUT_MS = 5_000;
  private static final int MAX_POOL_SIZE = 8;
  // Past this many callers queued for a connection, failing fast beats piling up behind a sick Redis.
  private static final int MAX_POOL_WAITING = 256;

  // KEYS: history, summary. ARGV: ttl ms, then the turns. The summary's TTL is refreshed with the
  // turns so the two expire together; PEXPIRE on a summary not written yet is a harmless no-op.
  private static final String APPEND = """
      for i = 2, #ARGV do
        redis.call('RPUSH', KEYS[1], ARGV[i])
      end
      redis.call('PEXPIRE', KEYS[1], ARGV[1])
      redis.call('PEXPIRE', KEYS[2], ARGV[1])
      return redis.call('LLEN', KEYS[1])""";

  // KEYS: history, summary. ARGV: count, summary, ttl ms. Trimming from the head keeps whatever was
  // appended at the tail since the caller loaded the turns it summarized.
  private static final String COMPACT = """
      redis.call('LTRIM', KEYS[1], ARGV[1], -1)
      redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
      redis.call('PEXPIRE', KEYS[1], ARGV[3])
      return 1""";

  private final Redis redis;

  RedisHistory(Vertx vertx, String redisUrl) {
    RedisOptions options = new RedisOptions()
        .setConnectionString(redisUrl)
        .setMaxPoolSize(MAX_POOL_SIZE)
        .setMaxPoolWaiting(MAX_POOL_WAITING);
    options.getNetClientOptions().setConnectTimeout(CONNECT_TIMEOUT_MS);
    this.redis = Redis.createClient(vertx, options);
  }

  @Override
  public Future<Window> load(String scope) {
    Future<List<Response>> replies = redis.batch(List.of(
        Request.cmd(Command.LRANGE).arg(HISTORY + scope).arg(0).arg(-1),
        Request.cmd(Command.GET).arg(SUMMARY + scope)));
    return guard(replies).map(r -> {
      JsonArray turns = new JsonArray();
      if (r.get(0) != null) {
        for (Response turn : r.get(0)) {
          turns.add(new JsonObject(turn.toString(StandardCharsets.UTF_8)));
        }
      }
      String summary = r.get(1) == null ? "" : r.get(1).toString(StandardCharsets.UTF_8);
      return new Window(summary, turns);
    });
  }

  @Override
  public Future<Integer> append(String scope, JsonArray turns, Duration ttl) {
    Request eval = Request.cmd(Command.EVAL).arg(APPEND).arg(2)
        .arg(HISTORY + scope).arg(SUMMARY + scope).arg(millis(ttl));
    for (int i = 0; i < turns.size(); i++) {
      eval.arg(turns.getJsonObject(i).encode());
    }
    return guard(redis.send(eval)).map(Response::toInteger);
  }

  @Override
  public Future<Void> compact(String scope, int count, String summary, Duration ttl) {
    Request eval = Request.cmd(Command.EVAL).arg(COMPACT).arg(2)
        .arg(HISTORY + scope).arg(SUMMARY + scope)
        .arg(Math.max(0, count)).arg(summary == null ? "" : summary).arg(millis(ttl));
    return guard(redis.send(eval)).mapEmpty();
  }

  @Override
  public Future<Integer> expire(Duration ttl) {
    return Future.succeededFuture(0);
  }

  @Override
  public Future<Void> ping() {
    return guard(redis.send(Request.cmd(Command.PING))).mapEmpty();
  }

  @Override
  public Future<Void> close() {
    return redis.close();
  }

  // PEXPIRE 0 would delete the scope on the spot and SET PX 0 is an error: a TTL is at least 1 ms.
  private static long millis(Duration ttl) {
    return Math.max(1, ttl.toMillis());
  }

  /**
   * Bounds a call in time and turns whatever went wrong into the failure callers expect. A command
   * that timed out may still run once Redis wakes up: an append reported as failed can land.
   */
  private static <T> Future<T> guard(Future<T> call) {
    return call.timeout(COMMAND_TIMEOUT_MS, TimeUnit.MILLISECONDS).recover(t -> Future.failedFuture(failure(t)));
  }

  private static Failure failure(Throwable t) {
    if (t instanceof Failure f) {
      return f;
    }
    String message = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    // Most error replies are Redis not serving right now (LOADING, BUSY, OOM, NOAUTH, a peer that
    // does not speak RESP...); a key of ours holding another type is a data problem no retry fixes.
    if (t instanceof Response reply && reply.type() == ResponseType.ERROR && message.contains("WRONGTYPE")) {
      return Failure.internal("Redis rejected a memory command: " + message);
    }
    return Failure.unavailable("memory_unavailable", "Redis is unavailable: " + message);
  }
}
