package dev.switchboard.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.TestRedis;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The bucket behaviour in Redis (REDIS_URL, from scripts/test.sh); fails, never skips, without it. */
@DisplayName("Rate-limit buckets, distributed profile: in Redis")
class RedisBucketsIT extends BucketsBehaviour {

  final String prefix = "sbtest-rate:" + UUID.randomUUID().toString().substring(0, 8) + ":";

  @Override
  Buckets buckets(Vertx vertx) {
    return new RedisBuckets(vertx, TestRedis.url(), prefix);
  }

  @AfterEach
  void clean() throws Exception {
    Vertx v = Vertx.vertx();
    try {
      TestRedis.deleteUnder(v, TestRedis.url(), prefix);
    } finally {
      v.close().await(10, TimeUnit.SECONDS);
    }
  }

  private <T> T redis(Request request, java.util.function.Function<io.vertx.redis.client.Response, T> read) throws Exception {
    Redis r = Redis.createClient(vertx, TestRedis.url());
    try {
      return read.apply(r.send(request).await(10, TimeUnit.SECONDS));
    } finally {
      r.close().await(10, TimeUnit.SECONDS);
    }
  }

  @Test
  @DisplayName("a bucket's key expires once the bucket would be full again, so idle callers leave nothing behind")
  void idleKeysExpire() throws Exception {
    RateLimits.Limit limit = new RateLimits.Limit(1, Duration.ofMinutes(1), 3);
    take(key, limit);
    take(key, limit);
    long ttl = redis(Request.cmd(Command.PTTL).arg(prefix + key), r -> r.toLong());
    assertTrue(ttl > 60_000 && ttl <= 120_001, "two tokens to come back at one a minute: ttl " + ttl);
    RateLimits.Limit fast = new RateLimits.Limit(100, Duration.ofSeconds(1), 1);
    take(key + ":fast", fast);
    Thread.sleep(200);
    long exists = redis(Request.cmd(Command.EXISTS).arg(prefix + key + ":fast"), r -> r.toLong());
    assertEquals(0, exists, "gone once full");
  }

  @Test
  @DisplayName("a Redis that has forgotten the script (a restart, SCRIPT FLUSH) is sent it again")
  void scriptFlushed() throws Exception {
    RateLimits.Limit limit = new RateLimits.Limit(1, Duration.ofMinutes(1), 2);
    assertEquals(0, take(key, limit));
    redis(Request.cmd(Command.SCRIPT).arg("FLUSH"), r -> r);
    assertEquals(0, take(key, limit));
    assertTrue(take(key, limit) > 0);
  }
}
