package dev.switchboard.security;

import dev.switchboard.bus.Failure;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import io.vertx.redis.client.ResponseType;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The distributed profile's revoked tokens: {@code <prefix>revoked:<jti>} set to 1 with
 * {@code PXAT} the token's expiry (no expiry for a token that has none), so that Redis forgets a
 * revocation when it no longer matters; and the sorted set {@code <prefix>revoked} (jti by until),
 * so that each instance can read all current revocations without scanning the keyspace.
 */
final class RedisRevokedTokens implements RevokedTokens {

  // KEYS: the jti's key, the index. ARGV: jti, until ms ('' for good), now ms. A later until of an
  // earlier revocation stands; the index sheds what has expired.
  private static final String REVOKE = """
      local before = redis.call('ZSCORE', KEYS[2], ARGV[1])
      if before == 'inf' or (before and ARGV[2] ~= '' and tonumber(before) >= tonumber(ARGV[2])) then
        return 0
      end
      if ARGV[2] == '' then
        redis.call('SET', KEYS[1], '1')
        redis.call('ZADD', KEYS[2], '+inf', ARGV[1])
      else
        redis.call('SET', KEYS[1], '1', 'PXAT', ARGV[2])
        redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
      end
      redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[3])
      return 1""";

  // A Redis that is down must cost a request seconds, not the OS's minute-long connect timeout.
  private static final int CONNECT_TIMEOUT_MS = 2_000;
  // The client has no reply timeout of its own: a stalled server would hold a revocation forever.
  private static final long COMMAND_TIMEOUT_MS = 5_000;

  private final Redis redis;
  private final String prefix;

  RedisRevokedTokens(Vertx vertx, String url, String prefix) {
    RedisOptions options = new RedisOptions().setConnectionString(url).setMaxPoolSize(2).setMaxPoolWaiting(64);
    options.getNetClientOptions().setConnectTimeout(CONNECT_TIMEOUT_MS);
    this.redis = Redis.createClient(vertx, options);
    this.prefix = prefix;
  }

  @Override
  public Future<Void> revoke(String jti, long untilMillis) {
    Request eval = Request.cmd(Command.EVAL).arg(REVOKE).arg(2).arg(prefix + "revoked:" + jti).arg(prefix + "revoked")
        .arg(jti).arg(untilMillis == Revocations.FOREVER ? "" : String.valueOf(untilMillis)).arg(System.currentTimeMillis());
    return send(eval).mapEmpty();
  }

  @Override
  public Future<Map<String, Long>> current() {
    return send(Request.cmd(Command.ZRANGEBYSCORE).arg(prefix + "revoked").arg("(" + System.currentTimeMillis()).arg("+inf")
        .arg("WITHSCORES")).map(RedisRevokedTokens::entries);
  }

  /** RESP2 answers member, score, member, score...; RESP3 a list of [member, score] pairs. */
  private static Map<String, Long> entries(Response r) {
    Map<String, Long> out = new HashMap<>();
    if (r == null) {
      return out;
    }
    for (int i = 0; i < r.size(); i++) {
      Response item = r.get(i);
      if (item.type() == ResponseType.MULTI) {
        out.put(item.get(0).toString(), until(item.get(1).toString()));
      } else if (i + 1 < r.size()) {
        out.put(item.toString(), until(r.get(++i).toString()));
      }
    }
    return out;
  }

  private static long until(String score) {
    if (score.contains("inf")) {
      return Revocations.FOREVER;
    }
    return (long) Double.parseDouble(score);
  }

  private Future<Response> send(Request request) {
    return redis.send(request).timeout(COMMAND_TIMEOUT_MS, TimeUnit.MILLISECONDS)
        .recover(t -> Future.failedFuture(t instanceof Failure ? t
            : Failure.unavailable("store_unavailable", "Redis is unavailable: " + (t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage()))));
  }

  @Override
  public Future<Void> close() {
    return redis.close();
  }
}
