package dev.switchboard.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The event store behaviours on Redis (the Redis of {@code scripts/test.sh}, env REDIS_URL; a key
 * prefix of its own per test). Fails, never skips, without Redis: an event store nobody tested on
 * Redis is not one to ship.
 */
@DisplayName("Event store, Redis")
class RedisEventStoreIT extends EventStoreBehaviour {

  String redisUrl;
  String prefix;
  private Redis raw;

  @Override
  @BeforeEach
  void open(io.vertx.core.Vertx vertx) throws Exception {
    redisUrl = System.getenv("REDIS_URL");
    assertTrue(redisUrl != null && !redisUrl.isBlank(),
        "REDIS_URL is not set: run the integration tests with scripts/test.sh, which starts Redis");
    prefix = "switchboard:events:it:" + UUID.randomUUID().toString().substring(0, 8) + ":";
    raw = Redis.createClient(vertx, redisUrl);
    super.open(vertx);
  }

  @AfterEach
  void cleanUp() throws Exception {
    if (raw != null) {
      Response keys = await(raw.send(Request.cmd(Command.KEYS).arg(prefix + "*")));
      for (Response k : keys) {
        await(raw.send(Request.cmd(Command.DEL).arg(k.toString())));
      }
      await(raw.close());
    }
  }

  @Override
  EventStore create() {
    return new RedisEventStore(vertx, redisUrl, prefix);
  }

  @Test
  @DisplayName("purge leaves no key of a purged event behind")
  void purgeLeavesNoKeys() throws Exception {
    await(store.store(message("m-1", "dingtalk"), "a", Duration.ZERO));
    await(store.store(webhook("w-1"), "a", Duration.ZERO));
    await(store.purge(java.time.Instant.now().plusSeconds(1)));
    Response keys = await(raw.send(Request.cmd(Command.KEYS).arg(prefix + "*")));
    // the counter stays, so that listings stay in order
    assertEquals(1, keys.size(), String.valueOf(keys));
    assertEquals(prefix + "seq", keys.get(0).toString());
  }
}
