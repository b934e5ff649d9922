package dev.switchboard.channel;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/**
 * Delivery records of the distributed profile, in Redis, shared by every instance:
 * <ul>
 *   <li>{@code <p>delivery:<id>}: a hash with the record's fields, its lease ({@code owner},
 *       {@code lease_until}) and {@code fence};</li>
 *   <li>{@code <p>delivery-task:<task>}: channel + newline + bot → delivery id, the one push per
 *       task and bot (and the task's deliveries);</li>
 *   <li>sorted sets by {@code seq} (the order of creation and the listing cursor):
 *       {@code deliveries:all}, {@code deliveries:status:<s>}, {@code deliveries:channel:<c>},
 *       {@code deliveries:bot:<c>\n<b>}; and {@code deliveries:leases} (pending ones by lease
 *       expiry) and {@code deliveries:finished} (finished ones by end time, for the retention).</li>
 * </ul>
 * Every change is one Lua script, so that a record and its indexes never disagree, and every
 * script reads the time from Redis, so that the instances' clocks do not matter. Redis must keep
 * what it acknowledged ({@code appendonly yes}): a delivery lost by Redis is a push lost.
 */
final class RedisDeliveries implements Deliveries {

  /** The hash fields in the order every script returns them. */
  private static final String PRELUDE = """
      local p = ARGV[1]
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      local ALL = {'id', 'seq', 'task_id', 'channel', 'bot', 'message', 'address', 'body', 'status', 'attempts',
                   'response', 'created_at', 'updated_at', 'owner', 'lease_until', 'fence'}
      local function key(id) return p .. 'delivery:' .. id end
      local function row(id) return redis.call('HMGET', key(id), unpack(ALL)) end
      local function byseq(a, b) return tonumber(a[2]) < tonumber(b[2]) end
      local function acquire(id, owner, lease)
        redis.call('HINCRBY', key(id), 'fence', 1)
        redis.call('HSET', key(id), 'owner', owner, 'lease_until', now + lease)
        redis.call('ZADD', p .. 'deliveries:leases', now + lease, id)
      end
      local function move(id, seq, from, to)
        redis.call('ZREM', p .. 'deliveries:status:' .. from, id)
        redis.call('ZADD', p .. 'deliveries:status:' .. to, seq, id)
        if to == 'pending' then
          redis.call('ZREM', p .. 'deliveries:finished', id)
        else
          redis.call('ZREM', p .. 'deliveries:leases', id)
          redis.call('ZADD', p .. 'deliveries:finished', now, id)
        end
      end
      """;

  // ARGV: prefix, owner, lease ms, new id, task id or '', channel, bot, message, address or '', body or ''.
  // Returns {held (1|0), row...}.
  private static final String OPEN = PRELUDE + """
      local owner, lease = ARGV[2], tonumber(ARGV[3])
      local once = nil
      local target = ARGV[6] .. '\\n' .. ARGV[7]
      if ARGV[5] ~= '' then
        once = p .. 'delivery-task:' .. ARGV[5]
        local existing = redis.call('HGET', once, target)
        if existing and redis.call('EXISTS', key(existing)) == 1 then
          local r = redis.call('HMGET', key(existing), 'status', 'owner', 'lease_until')
          local held = 0
          if r[1] == 'pending' then
            if r[2] == owner then
              held = 1
            elseif tonumber(r[3] or '0') <= now then
              acquire(existing, owner, lease)
              held = 1
            end
          end
          local out = row(existing)
          table.insert(out, 1, held)
          return out
        end
      end
      local id = ARGV[4]
      local seq = redis.call('INCR', p .. 'deliveries:seq')
      local fields = {'id', id, 'seq', seq, 'channel', ARGV[6], 'bot', ARGV[7], 'message', ARGV[8], 'status', 'pending',
                      'attempts', 0, 'created_at', now, 'updated_at', now, 'owner', owner, 'lease_until', now + lease, 'fence', 1}
      if once then table.insert(fields, 'task_id'); table.insert(fields, ARGV[5]) end
      if ARGV[9] ~= '' then table.insert(fields, 'address'); table.insert(fields, ARGV[9]) end
      if ARGV[10] ~= '' then table.insert(fields, 'body'); table.insert(fields, ARGV[10]) end
      redis.call('HSET', key(id), unpack(fields))
      redis.call('ZADD', p .. 'deliveries:all', seq, id)
      redis.call('ZADD', p .. 'deliveries:status:pending', seq, id)
      redis.call('ZADD', p .. 'deliveries:channel:' .. ARGV[6], seq, id)
      redis.call('ZADD', p .. 'deliveries:bot:' .. target, seq, id)
      redis.call('ZADD', p .. 'deliveries:leases', now + lease, id)
      if once then redis.call('HSET', once, target, id) end
      local out = row(id)
      table.insert(out, 1, 1)
      return out""";

  // ARGV: prefix, owner, lease ms, then id, fence pairs. Returns the ids still held.
  private static final String RENEW = PRELUDE + """
      local out = {}
      for i = 4, #ARGV, 2 do
        local id = ARGV[i]
        local r = redis.call('HMGET', key(id), 'status', 'owner', 'fence')
        if r[1] == 'pending' and r[2] == ARGV[2] and r[3] == ARGV[i + 1] then
          redis.call('HSET', key(id), 'lease_until', now + tonumber(ARGV[3]))
          redis.call('ZADD', p .. 'deliveries:leases', now + tonumber(ARGV[3]), id)
          out[#out + 1] = id
        end
      end
      return out""";

  // ARGV: prefix, id, fence, attempts, response or '', status. Returns 1 when written, 0 when fenced out.
  private static final String ATTEMPTED = PRELUDE + """
      local id = ARGV[2]
      local r = redis.call('HMGET', key(id), 'status', 'fence', 'seq')
      if r[1] ~= 'pending' or r[2] ~= ARGV[3] then return 0 end
      redis.call('HSET', key(id), 'attempts', ARGV[4], 'status', ARGV[6], 'updated_at', now)
      if ARGV[5] ~= '' then redis.call('HSET', key(id), 'response', ARGV[5]) else redis.call('HDEL', key(id), 'response') end
      if ARGV[6] ~= 'pending' then
        move(id, r[3], 'pending', ARGV[6])
        redis.call('HSET', key(id), 'owner', '', 'lease_until', 0)
      end
      return 1""";

  // ARGV: prefix, owner, then id, fence pairs.
  private static final String RELEASE = PRELUDE + """
      for i = 3, #ARGV, 2 do
        local id = ARGV[i]
        local r = redis.call('HMGET', key(id), 'status', 'owner', 'fence')
        if r[1] == 'pending' and r[2] == ARGV[2] and r[3] == ARGV[i + 1] then
          redis.call('HSET', key(id), 'lease_until', 0)
          redis.call('ZADD', p .. 'deliveries:leases', 0, id)
        end
      end
      return 1""";

  // ARGV: prefix, owner, lease ms, max. Returns rows, oldest first. Leases that ran out in the same
  // millisecond tie, so the oldest are picked by seq among more candidates than asked for.
  private static final String TAKE_OVER = PRELUDE + """
      local max = tonumber(ARGV[4])
      local ids = redis.call('ZRANGEBYSCORE', p .. 'deliveries:leases', '-inf', now, 'LIMIT', 0, max * 10)
      local candidates = {}
      for _, id in ipairs(ids) do
        local r = redis.call('HMGET', key(id), 'status', 'seq')
        if r[1] == 'pending' then
          candidates[#candidates + 1] = {id, r[2]}
        else
          redis.call('ZREM', p .. 'deliveries:leases', id)
        end
      end
      table.sort(candidates, byseq)
      local out = {}
      for i = 1, math.min(max, #candidates) do
        acquire(candidates[i][1], ARGV[2], tonumber(ARGV[3]))
        out[#out + 1] = row(candidates[i][1])
      end
      return out""";

  // ARGV: prefix, owner, lease ms, id. Returns the row, or nil when it is not failed or dead.
  private static final String REOPEN = PRELUDE + """
      local id = ARGV[4]
      local r = redis.call('HMGET', key(id), 'status', 'seq')
      if r[1] ~= 'failed' and r[1] ~= 'dead' then return false end
      redis.call('HSET', key(id), 'status', 'pending', 'updated_at', now)
      move(id, r[2], r[1], 'pending')
      acquire(id, ARGV[2], tonumber(ARGV[3]))
      return row(id)""";

  // ARGV: prefix, task id. Returns rows, oldest first.
  private static final String OF_TASK = PRELUDE + """
      local out = {}
      for _, id in ipairs(redis.call('HVALS', p .. 'delivery-task:' .. ARGV[2])) do
        local r = row(id)
        if r[1] then out[#out + 1] = r end
      end
      table.sort(out, byseq)
      return out""";

  // ARGV: prefix, index key (after the prefix), cursor, limit, status, channel, bot (each '' for any),
  // how many records to look at in one call at most. Returns {next cursor or nil, rows}.
  private static final String LIST = PRELUDE + """
      local index = p .. ARGV[2]
      local last, limit, budget = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[8])
      local out, seen, full = {}, 0, false
      while not full do
        local page = redis.call('ZRANGEBYSCORE', index, '(' .. last, '+inf', 'WITHSCORES', 'LIMIT', 0, 100)
        if #page == 0 then break end
        for i = 1, #page, 2 do
          last = tonumber(page[i + 1])
          seen = seen + 1
          local r = row(page[i])
          if r[1] and (ARGV[5] == '' or r[9] == ARGV[5]) and (ARGV[6] == '' or r[4] == ARGV[6])
              and (ARGV[7] == '' or r[5] == ARGV[7]) then
            out[#out + 1] = r
          end
          if #out >= limit or seen >= budget then full = true; break end
        end
      end
      if full then return {tostring(last), out} end
      return {false, out}""";

  // ARGV: prefix, retention ms, max. Returns how many went.
  private static final String SWEEP = PRELUDE + """
      local ids = redis.call('ZRANGEBYSCORE', p .. 'deliveries:finished', '-inf', now - tonumber(ARGV[2]),
                             'LIMIT', 0, tonumber(ARGV[3]))
      for _, id in ipairs(ids) do
        local r = redis.call('HMGET', key(id), 'task_id', 'channel', 'bot', 'status')
        if r[2] then
          if r[1] then redis.call('HDEL', p .. 'delivery-task:' .. r[1], r[2] .. '\\n' .. r[3]) end
          redis.call('ZREM', p .. 'deliveries:all', id)
          redis.call('ZREM', p .. 'deliveries:status:' .. r[4], id)
          redis.call('ZREM', p .. 'deliveries:channel:' .. r[2], id)
          redis.call('ZREM', p .. 'deliveries:bot:' .. r[2] .. '\\n' .. r[3], id)
          redis.call('DEL', key(id))
        end
        redis.call('ZREM', p .. 'deliveries:finished', id)
      end
      return #ids""";

  /** Records one listing call looks at, at most: a selective filter pages instead of scanning everything. */
  static final int LIST_BUDGET = 5_000;
  /** Finished records one sweep removes, at most; the next sweep takes the rest. */
  static final int SWEEP_BATCH = 1_000;

  private final RedisState redis;
  private final String owner;
  private final long leaseMs;
  private final long retentionMs;

  RedisDeliveries(RedisState redis, String owner, Duration lease, Duration retention) {
    this.redis = redis;
    this.owner = owner;
    this.leaseMs = lease.toMillis();
    this.retentionMs = retention.toMillis();
  }

  @Override
  public Future<Void> init() {
    return Future.succeededFuture();
  }

  private Future<Response> eval(String script, Object... args) {
    List<String> argv = new ArrayList<>(args.length + 1);
    argv.add(redis.prefix());
    for (Object a : args) {
      argv.add(String.valueOf(a));
    }
    return redis.eval(script, List.of(), argv);
  }

  @Override
  public Future<Opened> open(String taskId, String channel, String bot, String message, JsonObject address, JsonObject body) {
    return eval(OPEN, owner, leaseMs, UUID.randomUUID().toString(), taskId == null ? "" : taskId, channel, bot, message,
        address == null ? "" : address.encode(), body == null ? "" : body.encode())
        .map(r -> {
          List<Response> fields = new ArrayList<>();
          for (int i = 1; i < r.size(); i++) {
            fields.add(r.get(i));
          }
          return new Opened(record(fields), r.get(0).toInteger() == 1, view(fields));
        });
  }

  @Override
  public Future<Set<String>> renew(Map<String, Long> leases) {
    if (leases.isEmpty()) {
      return Future.succeededFuture(Set.of());
    }
    List<Object> args = new ArrayList<>(List.of(owner, leaseMs));
    leases.forEach((id, fence) -> {
      args.add(id);
      args.add(fence);
    });
    return eval(RENEW, args.toArray()).map(r -> {
      Set<String> held = new HashSet<>();
      for (Response id : r) {
        held.add(id.toString(StandardCharsets.UTF_8));
      }
      return held;
    });
  }

  @Override
  public Future<Boolean> attempted(String id, long fence, int attempts, JsonObject response, String status) {
    return eval(ATTEMPTED, id, fence, attempts, response == null ? "" : response.encode(), status)
        .map(r -> r.toInteger() == 1);
  }

  @Override
  public Future<Void> release(Map<String, Long> leases) {
    if (leases.isEmpty()) {
      return Future.succeededFuture();
    }
    List<Object> args = new ArrayList<>(List.of(owner));
    leases.forEach((id, fence) -> {
      args.add(id);
      args.add(fence);
    });
    return eval(RELEASE, args.toArray()).mapEmpty();
  }

  @Override
  public Future<List<Record>> takeOver(int max) {
    return eval(TAKE_OVER, owner, leaseMs, max).map(r -> {
      List<Record> out = new ArrayList<>();
      for (Response row : r) {
        out.add(record(fields(row)));
      }
      return out;
    });
  }

  @Override
  public Future<Optional<Record>> reopen(String id) {
    return eval(REOPEN, owner, leaseMs, id).map(r -> r == null ? Optional.<Record>empty() : Optional.of(record(fields(r))));
  }

  @Override
  public Future<Optional<JsonObject>> view(String id) {
    Request hmget = Request.cmd(Command.HMGET).arg(redis.prefix() + "delivery:" + id);
    for (String field : FIELDS) {
      hmget.arg(field);
    }
    return redis.send(hmget).map(r -> {
      List<Response> fields = fields(r);
      return fields.get(0) == null ? Optional.<JsonObject>empty() : Optional.of(view(fields));
    });
  }

  @Override
  public Future<JsonArray> ofTask(String taskId) {
    return eval(OF_TASK, taskId).map(r -> {
      JsonArray out = new JsonArray();
      for (Response row : r) {
        out.add(view(fields(row)));
      }
      return out;
    });
  }

  @Override
  public Future<JsonObject> list(String status, String channel, String bot, long cursor, int limit) {
    String index = status != null ? "deliveries:status:" + status
        : channel != null && bot != null ? "deliveries:bot:" + channel + "\n" + bot
        : channel != null ? "deliveries:channel:" + channel
        : "deliveries:all";
    return eval(LIST, index, cursor, limit, status == null ? "" : status, channel == null ? "" : channel,
        bot == null ? "" : bot, LIST_BUDGET).map(r -> {
          JsonArray data = new JsonArray();
          for (Response row : r.get(1)) {
            data.add(view(fields(row)));
          }
          return new JsonObject().put("data", data).put("next_cursor", r.get(0) == null ? null : r.get(0).toString());
        });
  }

  @Override
  public Future<Integer> sweep() {
    return eval(SWEEP, retentionMs, SWEEP_BATCH).map(Response::toInteger);
  }

  @Override
  public Future<Void> ping() {
    return redis.ping();
  }

  @Override
  public Future<Void> close() {
    return redis.close();
  }

  private static final List<String> FIELDS = List.of("id", "seq", "task_id", "channel", "bot", "message", "address", "body",
      "status", "attempts", "response", "created_at", "updated_at", "owner", "lease_until", "fence");

  private static List<Response> fields(Response row) {
    List<Response> out = new ArrayList<>(FIELDS.size());
    for (int i = 0; i < row.size(); i++) {
      out.add(row.get(i));
    }
    return out;
  }

  private static String text(List<Response> fields, int i) {
    Response r = fields.get(i);
    return r == null ? null : r.toString(StandardCharsets.UTF_8);
  }

  private static long number(List<Response> fields, int i) {
    String s = text(fields, i);
    return s == null || s.isEmpty() ? 0 : Long.parseLong(s);
  }

  private static JsonObject json(List<Response> fields, int i) {
    String s = text(fields, i);
    return s == null || s.isEmpty() ? null : new JsonObject(s);
  }

  private static Record record(List<Response> f) {
    return new Record(text(f, 0), text(f, 2), text(f, 3), text(f, 4), text(f, 5), json(f, 6), json(f, 7), text(f, 8),
        (int) number(f, 9), number(f, 15));
  }

  private static JsonObject view(List<Response> f) {
    return Deliveries.view(text(f, 0), text(f, 2), text(f, 3), text(f, 4), text(f, 8), (int) number(f, 9), json(f, 10),
        number(f, 11), number(f, 12));
  }
}
