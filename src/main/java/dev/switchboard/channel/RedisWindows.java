package dev.switchboard.channel;

import io.vertx.core.Future;
import io.vertx.redis.client.Response;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Sending windows in Redis, shared by every instance: {@code <p>rate:<key>} is a sorted set of send
 * times (Redis's clock, ms) and {@code <p>rate-pause:<key>} the time until which the platform holds
 * the key. A script takes a slot or says how long to wait, in one step, so that instances asking at
 * the same moment cannot both take the last slot.
 */
final class RedisWindows implements RateWindows {

  // KEYS: sends, pause. ARGV: member, then messages and window ms per limit.
  private static final String TAKE = """
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      local at = now
      local paused = redis.call('GET', KEYS[2])
      if paused then at = math.max(at, tonumber(paused)) end
      local longest, keep = 0, 0
      for i = 2, #ARGV, 2 do
        local messages, window = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
        if window > longest then longest = window end
        if messages > keep then keep = messages end
      end
      redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - longest)
      for i = 2, #ARGV, 2 do
        local messages, window = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
        local nth = redis.call('ZREVRANGE', KEYS[1], messages - 1, messages - 1, 'WITHSCORES')
        if nth[2] then at = math.max(at, tonumber(nth[2]) + window) end
      end
      if at > now then return at - now end
      redis.call('ZADD', KEYS[1], now, ARGV[1])
      redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(keep + 1))
      redis.call('PEXPIRE', KEYS[1], longest)
      return 0""";

  // KEYS: pause. ARGV: ms. A longer pause already set stays.
  private static final String PAUSE = """
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      local ms = tonumber(ARGV[1])
      local current = tonumber(redis.call('GET', KEYS[1]) or '0')
      if current < now + ms then
        redis.call('SET', KEYS[1], string.format('%d', now + ms), 'PX', ms)
      end
      return 1""";

  private final RedisState redis;

  RedisWindows(RedisState redis) {
    this.redis = redis;
  }

  @Override
  public Window window(String key, List<Bot.RateLimit> limits) {
    List<String> keys = List.of(redis.prefix() + "rate:" + key, redis.prefix() + "rate-pause:" + key);
    List<String> windows = new ArrayList<>();
    for (Bot.RateLimit limit : limits) {
      windows.add(String.valueOf(limit.messages()));
      windows.add(String.valueOf(RateWindows.windowMs(limit)));
    }
    return new Window() {
      @Override
      public Future<Long> take() {
        List<String> args = new ArrayList<>(windows.size() + 1);
        args.add(UUID.randomUUID().toString());
        args.addAll(windows);
        return redis.eval(TAKE, keys, args).map(Response::toLong);
      }

      @Override
      public Future<Void> pause(long ms) {
        return redis.eval(PAUSE, keys.subList(1, 2), List.of(String.valueOf(Math.max(1, ms)))).mapEmpty();
      }
    };
  }
}
