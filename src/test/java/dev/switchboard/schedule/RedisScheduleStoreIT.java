package dev.switchboard.schedule;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;

/** Needs REDIS_URL (scripts/test.sh starts Redis); fails without it. */
@DisplayName("Schedule store, Redis")
class RedisScheduleStoreIT extends ScheduleStoreBehaviour {

  String prefix;

  static String url() {
    String url = System.getenv("REDIS_URL");
    assertNotNull(url, "REDIS_URL is not set: run the tests with scripts/test.sh, which starts Redis");
    return url;
  }

  @Override
  ScheduleStore open(Vertx vertx) {
    prefix = "sbtest-sched:" + UUID.randomUUID().toString().substring(0, 8) + ":";
    return reopen(vertx);
  }

  @Override
  ScheduleStore reopen(Vertx vertx) {
    return new RedisScheduleStore(vertx, url(), prefix);
  }

  @AfterEach
  void dropKeys() throws Exception {
    Vertx v = Vertx.vertx();
    Redis redis = Redis.createClient(v, url());
    try {
      Response keys = redis.send(Request.cmd(Command.KEYS).arg(prefix + "*")).await(10, TimeUnit.SECONDS);
      for (Response key : keys) {
        redis.send(Request.cmd(Command.DEL).arg(key.toString())).await(10, TimeUnit.SECONDS);
      }
    } finally {
      redis.close();
      v.close().await(10, TimeUnit.SECONDS);
    }
  }
}
