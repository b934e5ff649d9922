package dev.switchboard.channel;

import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

/**
 * Claims of the distributed profile: {@code <prefix>claim:<key>} set with {@code NX PX}, so that
 * the first instance to see a message takes it and Redis forgets the claim when it expires. The
 * values are those of {@link EmbeddedClaims}: {@code busy:<token>} or {@code done:<value>}.
 */
final class RedisClaims implements Claims {

  // KEYS: the claim. ARGV: busy value, hold ms. Taking and reading in one step: between a failed
  // SET NX and a GET the holder could finish or let go, and the answer would be about nobody.
  private static final String BEGIN = """
      if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
        return {'taken'}
      end
      return {'held', redis.call('GET', KEYS[1])}""";

  // KEYS: the claim. ARGV: busy value. Only the holder's own claim is let go: one that expired and
  // was taken by someone else stays theirs.
  private static final String RELEASE = """
      if redis.call('GET', KEYS[1]) == ARGV[1] then
        return redis.call('DEL', KEYS[1])
      end
      return 0""";

  private final RedisState redis;

  RedisClaims(RedisState redis) {
    this.redis = redis;
  }

  private String key(String key) {
    return redis.prefix() + "claim:" + key;
  }

  @Override
  public Future<Void> init() {
    return Future.succeededFuture();
  }

  @Override
  public Future<Boolean> claim(String key, Duration ttl) {
    return redis.send(Request.cmd(Command.SET).arg(key(key)).arg("done:").arg("NX").arg("PX").arg(millis(ttl)))
        .map(r -> r != null);
  }

  @Override
  public Future<Claim> begin(String key, Duration hold) {
    String token = UUID.randomUUID().toString();
    return redis.eval(BEGIN, List.of(key(key)), List.of("busy:" + token, String.valueOf(millis(hold))))
        .map(r -> {
          if ("taken".equals(r.get(0).toString())) {
            return new Claim(State.TAKEN, token);
          }
          Response value = r.size() > 1 ? r.get(1) : null;
          return EmbeddedClaims.parse(value == null ? null : value.toString(StandardCharsets.UTF_8));
        });
  }

  @Override
  public Future<Void> done(String key, Duration ttl, String value) {
    return redis.send(Request.cmd(Command.SET).arg(key(key)).arg("done:" + (value == null ? "" : value))
        .arg("PX").arg(millis(ttl))).mapEmpty();
  }

  @Override
  public Future<Void> release(String key, String token) {
    return redis.eval(RELEASE, List.of(key(key)), List.of("busy:" + token)).mapEmpty();
  }

  @Override
  public Future<Integer> sweep() {
    return Future.succeededFuture(0);
  }

  @Override
  public Future<Void> ping() {
    return redis.ping();
  }

  @Override
  public Future<Void> close() {
    return redis.close();
  }

  // SET PX 0 is an error: a claim lasts at least 1 ms.
  private static long millis(Duration ttl) {
    return Math.max(1, ttl.toMillis());
  }
}
