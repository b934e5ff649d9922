package dev.switchboard.security;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;

/**
 * Buckets in Redis, shared by every instance: {@code <prefix><key>} is a hash of the tokens left
 * and when they were counted, by Redis's clock (so instances whose clocks differ agree). One
 * script refills by the time elapsed, takes a token or says how long until one is there, in one
 * step, so two instances asking at the same moment cannot both take the last token. A key
 * expires once its bucket would be full again: idle callers leave nothing behind.
 */
final class RedisBuckets implements Buckets {

  // KEYS: bucket. ARGV: rate, per (ms), burst. Returns 0 (taken) or the ms until a token is there.
  static final String TAKE = """
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
      local rate, per, burst = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
      local ms = per / rate
      local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
      local tokens, at = tonumber(state[1]), tonumber(state[2])
      if not tokens or not at then tokens, at = burst, now end
      -- a clock that went back (a fail-over to another server) refills nothing rather than too much
      if now > at then tokens = tokens + (now - at) / ms; at = now end
      tokens = math.min(burst, tokens)
      if tokens < 1 then return math.max(1, math.ceil((1 - tokens) * ms)) end
      tokens = tokens - 1
      redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'at', string.format('%.3f', at))
      redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) * ms) + 1)
      return 0""";

  private static final String SHA = sha1(TAKE);

  // A Redis that is down must cost a request a moment, not the OS's minute-long connect timeout.
  private static final int CONNECT_TIMEOUT_MS = 1_000;
  // Every limited request waits for this answer; past this it goes through unchecked (RateLimitVerticle).
  static final long COMMAND_TIMEOUT_MS = 1_000;
  private static final int MAX_POOL_SIZE = 8;
  private static final int MAX_POOL_WAITING = 512;

  private final Redis redis;
  private final String prefix;

  RedisBuckets(Vertx vertx, String url, String prefix) {
    RedisOptions options = new RedisOptions()
        .setConnectionString(url)
        .setMaxPoolSize(MAX_POOL_SIZE)
        .setMaxPoolWaiting(MAX_POOL_WAITING);
    options.getNetClientOptions().setConnectTimeout(CONNECT_TIMEOUT_MS);
    this.redis = Redis.createClient(vertx, options);
    this.prefix = prefix;
  }

  @Override
  public Future<Long> take(String key, RateLimits.Limit limit) {
    String bucket = prefix + key;
    // the script is sent by its digest; only a Redis that has not seen it yet (or restarted) gets its text
    return redis.send(call(Command.EVALSHA, SHA, bucket, limit))
        .recover(e -> e.getMessage() != null && e.getMessage().startsWith("NOSCRIPT")
            ? redis.send(call(Command.EVAL, TAKE, bucket, limit))
            : Future.failedFuture(e))
        .timeout(COMMAND_TIMEOUT_MS, TimeUnit.MILLISECONDS)
        .map(Response::toLong);
  }

  private static Request call(Command command, String script, String bucket, RateLimits.Limit limit) {
    return Request.cmd(command).arg(script).arg(1).arg(bucket)
        .arg(limit.rate()).arg(limit.per().toMillis()).arg(limit.burst());
  }

  @Override
  public Future<Void> close() {
    return redis.close();
  }

  private static String sha1(String text) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-1 is part of every Java runtime", e);
    }
  }
}
