package dev.switchboard.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.bus.Failure;
import dev.switchboard.testing.TcpProxy;
import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The channel state behaviours on the distributed profile: claims, deliveries and windows in Redis,
 * each test under a key prefix of its own (removed afterwards), plus what only a networked store
 * can do: be shared by separate clients, and go away. Needs REDIS_URL (scripts/test.sh provides
 * it); fails without it.
 */
@DisplayName("Channel state, distributed profile (Redis)")
class DistributedChannelStateIT extends ChannelStateBehaviour {

  static String redisUrl;
  final List<RedisState> clients = new ArrayList<>();
  String prefix;

  @BeforeAll
  static void redis() {
    redisUrl = System.getenv("REDIS_URL");
    assertNotNull(redisUrl, "REDIS_URL is not set: run the tests with scripts/test.sh, which starts Redis");
  }

  @Override
  void open() {
    prefix = "sbtest:" + run + ":";
  }

  RedisState client(String url) {
    RedisState client = new RedisState(vertx, url, prefix, "test");
    clients.add(client);
    return client;
  }

  @Override
  void close() {
    Redis redis = Redis.createClient(vertx, redisUrl);
    try {
      String cursor = "0";
      do {
        Response page = await(redis.send(Request.cmd(Command.SCAN).arg(cursor).arg("MATCH").arg(prefix + "*").arg("COUNT").arg(1000)));
        cursor = page.get(0).toString();
        for (Response key : page.get(1)) {
          await(redis.send(Request.cmd(Command.DEL).arg(key.toString())));
        }
      } while (!"0".equals(cursor));
    } finally {
      redis.close();
      clients.forEach(RedisState::close);
    }
  }

  @Override
  Claims newClaims() {
    return new RedisClaims(client(redisUrl));
  }

  @Override
  Deliveries newDeliveries(String owner, Duration lease, Duration retention) {
    return new RedisDeliveries(client(redisUrl), owner, lease, retention);
  }

  @Override
  RateWindows windows() {
    return new RedisWindows(client(redisUrl));
  }

  @Test
  @DisplayName("windows of two instances (separate clients) count the same sends: together they never pass the limit")
  void twoInstancesOneWindow() {
    List<Bot.RateLimit> limit = List.of(new Bot.RateLimit(5, Duration.ofSeconds(2)));
    RateWindows.Window a = new RedisWindows(client(redisUrl)).window("webhook/erp", limit);
    RateWindows.Window b = new RedisWindows(client(redisUrl)).window("webhook/erp", limit);
    List<Future<Long>> takes = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      takes.add((i % 2 == 0 ? a : b).take());
    }
    long granted = takes.stream().map(ChannelStateBehaviour::await).filter(w -> w == 0).count();
    assertEquals(5, granted);
  }

  @Test
  @DisplayName("a Redis that is down fails every call at once with 503 'Redis is unavailable', and the same stores work again once it is back")
  void redisDownAndBack() throws Exception {
    URI uri = URI.create(redisUrl);
    TcpProxy proxy = TcpProxy.start(vertx, uri.getHost(), uri.getPort()).await(10, TimeUnit.SECONDS);
    String url = redisUrl.replaceFirst(uri.getHost() + ":" + uri.getPort(), "127.0.0.1:" + proxy.port());
    RedisState redis = client(url);
    Claims claims = new RedisClaims(redis);
    Deliveries deliveries = new RedisDeliveries(redis, "a", LONG, RETENTION);
    RateWindows.Window window = new RedisWindows(redis).window("webhook/erp", List.of(new Bot.RateLimit(5, Duration.ofSeconds(1))));
    assertTrue(await(claims.claim("before-" + run, LONG)));
    String id = push(deliveries, "task-" + run, "webhook", "erp").record().id();
    proxy.down().await(10, TimeUnit.SECONDS);
    for (Future<?> call : List.of(claims.claim("during-" + run, LONG), deliveries.open("t2-" + run, "webhook", "erp", "x", null, null),
        deliveries.view(id), window.take(), claims.ping())) {
      Throwable e = call.transform(ar -> Future.succeededFuture(ar.cause())).await(10, TimeUnit.SECONDS);
      assertNotNull(e, "must fail while Redis is down");
      Failure f = Failure.from(e);
      assertEquals(503, f.status(), f.getMessage());
      assertTrue(f.getMessage().startsWith("Redis is unavailable"), f.getMessage());
    }
    proxy.up().await(10, TimeUnit.SECONDS);
    waitUntil(() -> await(claims.ping().transform(ar -> Future.succeededFuture(ar.succeeded()))), "Redis back");
    assertTrue(await(claims.claim("after-" + run, LONG)));
    assertEquals("pending", await(deliveries.view(id)).orElseThrow().getString("status"));
    assertEquals(0L, await(window.take()));
  }

  static <T> T await(Future<T> f) {
    return ChannelStateBehaviour.await(f);
  }
}
