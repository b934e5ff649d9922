package dev.switchboard.schedule;

import dev.switchboard.bus.Failure;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Schedules in Redis, shared by the instances of the distributed profile: a hash per schedule
 * ({@code <prefix>entry:<rule>}), the set of names ({@code <prefix>rules}) and the fence
 * ({@code <prefix>fence}, the largest leader token seen). Every write is one Lua script, so a
 * firing's fence check, compare on next_fire and move happen as one step. The sync script derives
 * the keys of the file schedules from the prefix, which needs one Redis (not a Redis Cluster), as
 * the rest of the gateway does.
 */
public final class RedisScheduleStore implements ScheduleStore {

  private static final int CONNECT_TIMEOUT_MS = 2_000;
  private static final long COMMAND_TIMEOUT_MS = 5_000;

  // KEYS: entry, rules. ARGV: rule, spec, source, definition ("" none), next ms ("" none).
  private static final String ADD = """
      if redis.call('EXISTS', KEYS[1]) == 1 then
        return 0
      end
      redis.call('HSET', KEYS[1], 'spec', ARGV[2], 'source', ARGV[3], 'last_token', '0')
      if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'definition', ARGV[4]) end
      if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'next_fire', ARGV[5]) end
      redis.call('SADD', KEYS[2], ARGV[1])
      return 1""";

  // KEYS: entry, rules. ARGV: rule, source.
  private static final String DELETE = """
      if redis.call('HGET', KEYS[1], 'source') ~= ARGV[2] then
        return 0
      end
      redis.call('DEL', KEYS[1])
      redis.call('SREM', KEYS[2], ARGV[1])
      return 1""";

  // KEYS: fence. ARGV: token.
  private static final String FENCE = """
      local fence = tonumber(redis.call('GET', KEYS[1]) or '0')
      local token = tonumber(ARGV[1])
      if token > fence then
        redis.call('SET', KEYS[1], ARGV[1])
        return 1
      end
      if token == fence then return 1 end
      return 0""";

  // KEYS: fence, entry. ARGV: expected next ms, fired ms ("" none), new next ms ("" none), token.
  private static final String RECORD = """
      local token = tonumber(ARGV[4])
      if tonumber(redis.call('GET', KEYS[1]) or '0') > token then
        return 0
      end
      if redis.call('HGET', KEYS[2], 'next_fire') ~= ARGV[1] then
        return 0
      end
      if tonumber(redis.call('HGET', KEYS[2], 'last_token') or '0') > token then
        return 0
      end
      if ARGV[3] == '' then
        redis.call('HDEL', KEYS[2], 'next_fire')
      else
        redis.call('HSET', KEYS[2], 'next_fire', ARGV[3])
      end
      if ARGV[2] ~= '' then redis.call('HSET', KEYS[2], 'last_fire', ARGV[2]) end
      redis.call('HSET', KEYS[2], 'last_token', ARGV[4])
      redis.call('SET', KEYS[1], ARGV[4])
      return 1""";

  // KEYS: rules. ARGV: prefix, then rule, spec, next ms ("" none) for each file schedule.
  private static final String SYNC = """
      local prefix = ARGV[1]
      local listed = {}
      local taken = {}
      for i = 2, #ARGV, 3 do
        local rule, spec, nxt = ARGV[i], ARGV[i + 1], ARGV[i + 2]
        listed[rule] = true
        local key = prefix .. 'entry:' .. rule
        local source = redis.call('HGET', key, 'source')
        if source == 'api' then
          table.insert(taken, rule)
        elseif not source or redis.call('HGET', key, 'spec') ~= spec then
          if not source then
            redis.call('HSET', key, 'source', 'file', 'last_token', '0')
            redis.call('SADD', KEYS[1], rule)
          end
          redis.call('HSET', key, 'spec', spec)
          if nxt == '' then redis.call('HDEL', key, 'next_fire') else redis.call('HSET', key, 'next_fire', nxt) end
        end
      end
      for _, rule in ipairs(redis.call('SMEMBERS', KEYS[1])) do
        local key = prefix .. 'entry:' .. rule
        if not listed[rule] and redis.call('HGET', key, 'source') == 'file' then
          redis.call('DEL', key)
          redis.call('SREM', KEYS[1], rule)
        end
      end
      return taken""";

  private final Redis redis;
  private final String prefix;

  /** {@code prefix}: what every key starts with; instances sharing it (and the Redis) share their schedules. */
  public RedisScheduleStore(Vertx vertx, String url, String prefix) {
    RedisOptions options = new RedisOptions().setConnectionString(url).setMaxPoolSize(4).setMaxPoolWaiting(64);
    options.getNetClientOptions().setConnectTimeout(CONNECT_TIMEOUT_MS);
    this.redis = Redis.createClient(vertx, options);
    this.prefix = prefix;
  }

  @Override
  public Future<Void> init() {
    return Future.succeededFuture();
  }

  @Override
  public Future<List<ScheduleEntry>> list() {
    return send(Request.cmd(Command.SMEMBERS).arg(prefix + "rules")).compose(names -> {
      List<Future<ScheduleEntry>> reads = new ArrayList<>();
      for (Response name : names) {
        reads.add(get(name.toString()));
      }
      return Future.all(reads).map(all -> {
        List<ScheduleEntry> out = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) {
          if (all.resultAt(i) != null) {
            out.add(all.resultAt(i));
          }
        }
        out.sort(Comparator.comparing(ScheduleEntry::rule));
        return out;
      });
    });
  }

  @Override
  public Future<ScheduleEntry> get(String rule) {
    return send(Request.cmd(Command.HGETALL).arg(entryKey(rule))).map(r -> {
      if (r == null || r.size() == 0) {
        return null;
      }
      String spec = field(r, "spec");
      String definition = field(r, "definition");
      String last = field(r, "last_token");
      return new ScheduleEntry(rule, spec == null ? new JsonObject() : new JsonObject(spec), field(r, "source"),
          definition == null ? null : new JsonObject(definition), time(field(r, "next_fire")), time(field(r, "last_fire")),
          last == null ? 0 : Long.parseLong(last));
    });
  }

  @Override
  public Future<List<String>> syncFile(List<ScheduleEntry> entries) {
    List<Object> args = new ArrayList<>();
    args.add(prefix);
    for (ScheduleEntry e : entries) {
      args.add(e.rule());
      args.add(e.spec().encode());
      args.add(ms(e.nextFire()));
    }
    return eval(SYNC, List.of(prefix + "rules"), args.toArray()).map(r -> {
      List<String> taken = new ArrayList<>();
      if (r != null) {
        r.forEach(name -> taken.add(name.toString()));
      }
      return taken;
    });
  }

  @Override
  public Future<Boolean> add(ScheduleEntry e) {
    return eval(ADD, List.of(entryKey(e.rule()), prefix + "rules"), e.rule(), e.spec().encode(), e.source(),
        e.definition() == null ? "" : e.definition().encode(), ms(e.nextFire())).map(r -> r.toInteger() == 1);
  }

  @Override
  public Future<Boolean> delete(String rule, String source) {
    return eval(DELETE, List.of(entryKey(rule), prefix + "rules"), rule, source).map(r -> r.toInteger() == 1);
  }

  @Override
  public Future<Boolean> fence(long token) {
    return eval(FENCE, List.of(prefix + "fence"), token).map(r -> r.toInteger() == 1);
  }

  @Override
  public Future<Boolean> record(String rule, Instant expectedNext, Instant fired, Instant newNext, long token) {
    if (expectedNext == null) {
      return Future.succeededFuture(false);
    }
    return eval(RECORD, List.of(prefix + "fence", entryKey(rule)), ms(expectedNext), ms(fired), ms(newNext), token)
        .map(r -> r.toInteger() == 1);
  }

  @Override
  public Future<Void> close() {
    return redis.close();
  }

  private String entryKey(String rule) {
    return prefix + "entry:" + rule;
  }

  private Future<Response> eval(String script, List<String> keys, Object... args) {
    Request r = Request.cmd(Command.EVAL).arg(script).arg(keys.size());
    keys.forEach(r::arg);
    for (Object a : args) {
      r.arg(String.valueOf(a));
    }
    return send(r);
  }

  /** Bounded in time, and failing as "Redis is unavailable" so that API callers get a 503 to retry. */
  private Future<Response> send(Request request) {
    return redis.send(request).timeout(COMMAND_TIMEOUT_MS, TimeUnit.MILLISECONDS)
        .recover(e -> Future.failedFuture(Failure.unavailable("schedules_unavailable",
            "the schedule store (Redis) is unavailable: " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()))));
  }

  private static String field(Response r, String name) {
    Response v = r.get(name);
    return v == null ? null : v.toString(StandardCharsets.UTF_8);
  }

  private static Instant time(String ms) {
    return ms == null || ms.isEmpty() ? null : Instant.ofEpochMilli(Long.parseLong(ms));
  }

  private static String ms(Instant t) {
    return t == null ? "" : Long.toString(t.toEpochMilli());
  }
}
