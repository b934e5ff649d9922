package dev.switchboard.cluster;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Response;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The registry in Redis: a sorted set of instance ids scored by when each last reported, and a hash
 * of their entries. Times are Redis's own ({@code TIME}), so clocks that differ between hosts do
 * not make a live instance look dead. Every report also sweeps out the dead.
 */
final class RedisRegistry implements Registry {

  // KEYS: seen (zset), entries (hash). ARGV: id, entry JSON, dead after ms.
  private static final String BEAT = """
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      redis.call('ZADD', KEYS[1], now, ARGV[1])
      redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
      local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[3]))
      for _, id in ipairs(dead) do
        redis.call('ZREM', KEYS[1], id)
        redis.call('HDEL', KEYS[2], id)
      end
      return now""";

  // KEYS: seen, entries, lease. ARGV: dead after ms. Returns the lease value, then the live entries.
  private static final String LIVE = """
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (now - tonumber(ARGV[1])), '+inf')
      local out = {redis.call('GET', KEYS[3]) or ''}
      if #ids > 0 then
        local entries = redis.call('HMGET', KEYS[2], unpack(ids))
        for i = 1, #ids do
          if entries[i] then
            table.insert(out, entries[i])
          end
        end
      end
      return out""";

  // KEYS: seen, entries. ARGV: id.
  private static final String LEAVE = """
      redis.call('ZREM', KEYS[1], ARGV[1])
      return redis.call('HDEL', KEYS[2], ARGV[1])""";

  private final RedisCalls redis;
  private final String seen;
  private final String entries;
  private final String leaseKey;

  RedisRegistry(RedisCalls redis, String namespace, String leaseKey) {
    this.redis = redis;
    this.seen = namespace + "seen";
    this.entries = namespace + "instances";
    this.leaseKey = leaseKey;
  }

  @Override
  public Future<Void> beat(JsonObject entry) {
    return redis.eval(BEAT, List.of(seen, entries), entry.getString("id"), entry.encode(), DEAD_AFTER_MS).mapEmpty();
  }

  @Override
  public Future<List<JsonObject>> live() {
    return redis.eval(LIVE, List.of(seen, entries, leaseKey), DEAD_AFTER_MS).map(r -> {
      String lease = r.get(0).toString(StandardCharsets.UTF_8);
      int space = lease.lastIndexOf(' ');
      String holder = space < 0 ? null : lease.substring(0, space);
      List<JsonObject> out = new ArrayList<>();
      for (int i = 1; i < r.size(); i++) {
        Response e = r.get(i);
        JsonObject entry = new JsonObject(e.toString(StandardCharsets.UTF_8));
        out.add(entry.put("leader", entry.getString("id", "").equals(holder)));
      }
      return out;
    });
  }

  @Override
  public Future<Void> leave(String id) {
    return redis.eval(LEAVE, List.of(seen, entries), id).mapEmpty();
  }
}
