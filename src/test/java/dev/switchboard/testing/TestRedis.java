package dev.switchboard.testing;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.concurrent.TimeUnit;

/** The Redis that scripts/test.sh starts, for integration tests: they fail, never skip, without it. */
public final class TestRedis {

  private TestRedis() {
  }

  /** REDIS_URL, or a failed test saying how to get one. */
  public static String url() {
    String url = System.getenv("REDIS_URL");
    assertNotNull(url, "REDIS_URL is not set: run the tests with scripts/test.sh, which starts Redis");
    return url;
  }

  /** Deletes every key under {@code prefix} (a test's own), with SCAN so a large keyspace is not blocked. */
  public static void deleteUnder(Vertx vertx, String url, String prefix) throws Exception {
    Redis redis = Redis.createClient(vertx, url);
    try {
      String cursor = "0";
      do {
        Response page = redis.send(Request.cmd(Command.SCAN).arg(cursor).arg("MATCH").arg(prefix + "*").arg("COUNT").arg(1000))
            .await(10, TimeUnit.SECONDS);
        cursor = page.get(0).toString();
        for (Response key : page.get(1)) {
          redis.send(Request.cmd(Command.DEL).arg(key.toString())).await(10, TimeUnit.SECONDS);
        }
      } while (!"0".equals(cursor));
    } finally {
      redis.close();
    }
  }
}
