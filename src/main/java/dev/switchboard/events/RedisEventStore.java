package dev.switchboard.events;

import dev.switchboard.bus.Failure;
import dev.switchboard.store.SeqCursor;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import io.vertx.redis.client.ResponseType;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Events of the distributed profile, in Redis, shared by every instance. Keys (all under the
 * prefix): {@code e:<id>} a hash (body, seq, type, platform, stored, handled, owner, attempts);
 * {@code seq} the counter that orders listings; {@code all}, {@code type:<t>}, {@code platform:<p>}
 * and {@code tp:<t>:<p>} sorted sets by seq, one per filter of the list; {@code due} the unhandled
 * events by lease end; {@code stored} every event by the time it was stored, for the purge.
 *
 * <p>Each step that must not be split is one Lua script: storing checks the id and writes the
 * hash and the indexes at once (the claim), taking due events moves their leases in the same
 * step as it reads them (two instances never take one event), a retry only moves a lease its
 * caller still holds. Times are Redis's own ({@code TIME}), so that instances with clocks apart
 * agree on when a lease ran out. Nothing blocks, so every call goes through the one pool; no
 * connection of its own is needed.
 *
 * <p>Durability is Redis's: with {@code appendonly yes} an acknowledged event survives Redis too.
 * A Redis that is down costs a call at most the connect (2 s) or command (5 s) timeout and fails
 * it with a 503 {@code store_unavailable}: the platform sends the event again later.
 */
public final class RedisEventStore implements EventStore {

  private static final int CONNECT_TIMEOUT_MS = 2_000;
  private static final long COMMAND_TIMEOUT_MS = 5_000;
  private static final int MAX_POOL_SIZE = 8;
  private static final int MAX_POOL_WAITING = 256;
  private static final int MAX_LIST = 500;
  private static final int PURGE_BATCH = 500;

  private static final String NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n";

  // KEYS: hash. ARGV: prefix, id, type, platform ('' for none), body, owner, lease ms.
  private static final String STORE = NOW + """
      if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
      local p, id = ARGV[1], ARGV[2]
      local seq = redis.call('INCR', p .. 'seq')
      redis.call('HSET', KEYS[1], 'body', ARGV[5], 'seq', seq, 'type', ARGV[3], 'platform', ARGV[4], 'stored', now,
        'owner', ARGV[6], 'attempts', 1)
      redis.call('ZADD', p .. 'all', seq, id)
      redis.call('ZADD', p .. 'type:' .. ARGV[3], seq, id)
      if ARGV[4] ~= '' then
        redis.call('ZADD', p .. 'platform:' .. ARGV[4], seq, id)
        redis.call('ZADD', p .. 'tp:' .. ARGV[3] .. ':' .. ARGV[4], seq, id)
      end
      redis.call('ZADD', p .. 'due', now + tonumber(ARGV[7]), id)
      redis.call('ZADD', p .. 'stored', now, id)
      return 1""";

  // KEYS: hash, due. ARGV: id.
  private static final String HANDLED = NOW + """
      if redis.call('EXISTS', KEYS[1]) == 1 and not redis.call('HGET', KEYS[1], 'handled') then
        redis.call('HSET', KEYS[1], 'handled', now)
        redis.call('HDEL', KEYS[1], 'owner')
      end
      redis.call('ZREM', KEYS[2], ARGV[1])
      return 1""";

  // KEYS: hash, due. ARGV: id, owner, delay ms. Only the holder moves its lease: one that ran out
  // and was taken by another instance is theirs.
  private static final String RETRY = NOW + """
      if redis.call('HGET', KEYS[1], 'owner') == ARGV[2] and not redis.call('HGET', KEYS[1], 'handled') then
        redis.call('ZADD', KEYS[2], 'XX', now + tonumber(ARGV[3]), ARGV[1])
        return 1
      end
      return 0""";

  // KEYS: due. ARGV: prefix, owner, lease ms, limit. Returns body, attempts, body, attempts...
  private static final String DUE = NOW + """
      local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[4]))
      local out = {}
      for _, id in ipairs(ids) do
        local k = ARGV[1] .. 'e:' .. id
        local body = redis.call('HGET', k, 'body')
        if body and not redis.call('HGET', k, 'handled') then
          redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), id)
          redis.call('HSET', k, 'owner', ARGV[2])
          out[#out + 1] = body
          out[#out + 1] = redis.call('HINCRBY', k, 'attempts', 1)
        else
          redis.call('ZREM', KEYS[1], id)
        end
      end
      return out""";

  // KEYS: the index. ARGV: prefix, below (exclusive), count. Returns seq, body, handled ('' for not yet)...
  private static final String LIST = """
      local ids = redis.call('ZREVRANGEBYSCORE', KEYS[1], '(' .. ARGV[2], '-inf', 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[3]))
      local out = {}
      for i = 1, #ids, 2 do
        local f = redis.call('HMGET', ARGV[1] .. 'e:' .. ids[i], 'body', 'handled')
        if f[1] then
          out[#out + 1] = ids[i + 1]
          out[#out + 1] = f[1]
          out[#out + 1] = f[2] or ''
        end
      end
      return out""";

  // KEYS: stored. ARGV: prefix, before ms, batch. Removes a batch and every index entry of it.
  private static final String PURGE = """
      local p = ARGV[1]
      local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
      for _, id in ipairs(ids) do
        local k = p .. 'e:' .. id
        local f = redis.call('HMGET', k, 'type', 'platform')
        redis.call('ZREM', p .. 'all', id)
        if f[1] then
          redis.call('ZREM', p .. 'type:' .. f[1], id)
          if f[2] and f[2] ~= '' then
            redis.call('ZREM', p .. 'platform:' .. f[2], id)
            redis.call('ZREM', p .. 'tp:' .. f[1] .. ':' .. f[2], id)
          end
        end
        redis.call('DEL', k)
        redis.call('ZREM', p .. 'due', id)
        redis.call('ZREM', KEYS[1], id)
      end
      return #ids""";

  private final Redis redis;
  private final String prefix;

  /** {@code prefix}: what every key starts with, so that deployments sharing a Redis never meet. */
  public RedisEventStore(Vertx vertx, String redisUrl, String prefix) {
    RedisOptions options = new RedisOptions()
        .setConnectionString(redisUrl)
        .setMaxPoolSize(MAX_POOL_SIZE)
        .setMaxPoolWaiting(MAX_POOL_WAITING);
    options.getNetClientOptions().setConnectTimeout(CONNECT_TIMEOUT_MS);
    this.redis = Redis.createClient(vertx, options);
    this.prefix = prefix;
  }

  private String hash(String id) {
    return prefix + "e:" + id;
  }

  @Override
  public Future<Boolean> store(JsonObject event, String owner, Duration lease) {
    String id = event.getString("id");
    String platform = event.getValue("platform") instanceof String p ? p : "";
    return eval(STORE, List.of(hash(id)), List.of(prefix, id, event.getString("type"), platform, event.encode(), owner,
        String.valueOf(lease.toMillis()))).map(r -> r.toInteger() == 1);
  }

  @Override
  public Future<Void> handled(String id) {
    return eval(HANDLED, List.of(hash(id), prefix + "due"), List.of(id)).mapEmpty();
  }

  @Override
  public Future<Void> retryAfter(String id, String owner, Duration delay) {
    return eval(RETRY, List.of(hash(id), prefix + "due"), List.of(id, owner, String.valueOf(delay.toMillis()))).mapEmpty();
  }

  @Override
  public Future<List<Due>> due(String owner, Duration lease, int limit) {
    return eval(DUE, List.of(prefix + "due"), List.of(prefix, owner, String.valueOf(lease.toMillis()),
        String.valueOf(Math.max(1, limit)))).map(r -> {
          List<Due> due = new ArrayList<>();
          for (int i = 0; i + 1 < r.size(); i += 2) {
            due.add(new Due(new JsonObject(r.get(i).toString(StandardCharsets.UTF_8)), r.get(i + 1).toInteger()));
          }
          return due;
        });
  }

  @Override
  public Future<Page> list(Query query) {
    long below = SeqCursor.EVENTS.decode(query.cursor());
    int limit = Math.max(1, Math.min(MAX_LIST, query.limit()));
    String index;
    if (query.type() != null && query.platform() != null) {
      index = "tp:" + query.type() + ":" + query.platform();
    } else if (query.type() != null) {
      index = "type:" + query.type();
    } else if (query.platform() != null) {
      index = "platform:" + query.platform();
    } else {
      index = "all";
    }
    String start = below == Long.MAX_VALUE ? "+inf" : String.valueOf(below);
    return eval(LIST, List.of(prefix + index), List.of(prefix, start, String.valueOf(limit + 1))).map(r -> {
      List<JsonObject> data = new ArrayList<>();
      long last = 0;
      boolean more = false;
      for (int i = 0; i + 2 < r.size(); i += 3) {
        if (data.size() == limit) {
          more = true;
          break;
        }
        last = Long.parseLong(r.get(i).toString());
        String handled = r.get(i + 2).toString();
        data.add(EmbeddedEventStore.listed(new JsonObject(r.get(i + 1).toString(StandardCharsets.UTF_8)),
            handled.isEmpty() ? null : Long.parseLong(handled)));
      }
      return new Page(data, more ? SeqCursor.EVENTS.encode(last) : null);
    });
  }

  @Override
  public Future<Integer> purge(Instant before) {
    return purgeFrom(before.toEpochMilli(), 0);
  }

  private Future<Integer> purgeFrom(long before, int sofar) {
    return eval(PURGE, List.of(prefix + "stored"), List.of(prefix, String.valueOf(before), String.valueOf(PURGE_BATCH)))
        .map(Response::toInteger)
        .compose(n -> n < PURGE_BATCH ? Future.succeededFuture(sofar + n) : purgeFrom(before, sofar + n));
  }

  @Override
  public Future<Void> ping() {
    return guard(redis.send(Request.cmd(Command.PING))).mapEmpty();
  }

  @Override
  public Future<Void> close() {
    return redis.close();
  }

  private Future<Response> eval(String script, List<String> keys, List<String> args) {
    Request eval = Request.cmd(Command.EVAL).arg(script).arg(keys.size());
    keys.forEach(eval::arg);
    args.forEach(eval::arg);
    return guard(redis.send(eval));
  }

  /**
   * Bounds a call in time (the client has no reply timeout of its own), turns what went wrong into
   * the failure callers expect and completes on the caller's context. A call that timed out may
   * still run once Redis wakes up; each script is harmless when it runs late.
   */
  private static <T> Future<T> guard(Future<T> call) {
    Context caller = Vertx.currentContext();
    Future<T> bounded = call.timeout(COMMAND_TIMEOUT_MS, TimeUnit.MILLISECONDS).recover(t -> Future.failedFuture(failure(t)));
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

  private static Failure failure(Throwable t) {
    if (t instanceof Failure f) {
      return f;
    }
    String message = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    // a script error or a key of another type is a defect no retry fixes; the rest is Redis not serving now
    if (t instanceof Response reply && reply.type() == ResponseType.ERROR
        && (message.contains("WRONGTYPE") || message.startsWith("ERR Error running script") || message.contains("user_script"))) {
      return Failure.internal("Redis rejected an event store command: " + message);
    }
    return Failure.unavailable("store_unavailable", "the event store is unavailable: Redis: " + message);
  }
}
