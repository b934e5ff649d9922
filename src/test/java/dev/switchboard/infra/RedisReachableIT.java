package dev.switchboard.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.Vertx;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisAPI;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Proves the Redis the tests are pointed at (env {@code REDIS_URL}, started by
 * {@code scripts/test.sh}) is reachable and supports streams. Fails, never skips,
 * when Redis is missing.
 */
@ExtendWith(VertxExtension.class)
@DisplayName("Redis is reachable from the test JVM")
class RedisReachableIT {

  static String redisUrl() {
    String url = System.getenv("REDIS_URL");
    return url == null || url.isBlank() ? "redis://127.0.0.1:6379" : url;
  }

  @Test
  @Timeout(value = 20, timeUnit = TimeUnit.SECONDS)
  @DisplayName("SET with expiry, GET, XADD and XLEN work, then the keys are deleted")
  void setGetAndStreamRoundTrip(Vertx vertx, VertxTestContext testContext) {
    Redis client = Redis.createClient(vertx, redisUrl());
    RedisAPI redis = RedisAPI.api(client);
    String id = UUID.randomUUID().toString();
    String key = "switchboard:it:kv:" + id;
    String stream = "switchboard:it:stream:" + id;

    redis.set(List.of(key, "hello", "EX", "60"))
        .compose(ok -> redis.get(key))
        .compose(value -> {
          testContext.verify(() -> assertEquals("hello", value.toString()));
          return redis.xadd(List.of(stream, "*", "field", "one"));
        })
        .compose(entryId -> redis.xadd(List.of(stream, "*", "field", "two")))
        .compose(entryId -> redis.xlen(stream))
        .compose(len -> {
          testContext.verify(() -> assertEquals(2L, len.toLong()));
          return redis.del(List.of(key, stream));
        })
        .onSuccess(deleted -> testContext.verify(() -> assertEquals(2, deleted.toInteger())))
        .eventually(client::close)
        .onComplete(testContext.succeedingThenComplete());
  }
}
