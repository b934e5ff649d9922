package dev.switchboard.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.TcpProxy;
import dev.switchboard.testing.TestGateway;
import dev.switchboard.testing.TestRedis;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Two gateways of one deployment (one key prefix) on one Redis, as behind a load balancer: a
 * caller that spreads its requests over both is held to one limit. Needs REDIS_URL
 * (scripts/test.sh); fails without it.
 */
@DisplayName("Rate limits across two instances sharing Redis")
class RateLimitsAcrossInstancesIT {

  static final String LIMITS = """
        rate_limits:
          families: { tasks: { rate: 1, per: 1h, burst: 4 }, admin: { rate: 1, per: 1h, burst: 2 } }
          webhooks_per_ip: { rate: 1, per: 1h, burst: 3 }
      """;

  Vertx vertx;
  WebClient web;
  String prefix;
  final List<TestGateway> gateways = new ArrayList<>();
  final List<TcpProxy> proxies = new ArrayList<>();

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    web = WebClient.create(vertx);
    prefix = "sbtest-rl:" + UUID.randomUUID().toString().substring(0, 8) + ":";
  }

  @AfterEach
  void stop() throws Exception {
    for (TestGateway g : gateways) {
      g.close();
    }
    for (TcpProxy p : proxies) {
      p.up().await(10, TimeUnit.SECONDS);
    }
    TestRedis.deleteUnder(vertx, TestRedis.url(), prefix);
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  TestGateway instance(String redisUrl) throws Exception {
    TestGateway g = TestGateway.builder().env("SWITCHBOARD_STORAGE", "distributed").env("REDIS_URL", redisUrl)
        .env("SWITCHBOARD_QUEUE_PREFIX", prefix + "q:")
        .file("switchboard.yaml", RateLimitHttpTest.switchboardWith(LIMITS))
        .file("channels.yaml", "store: { key_prefix: \"" + prefix + "\" }\n")
        .start();
    gateways.add(g);
    return g;
  }

  HttpResponse<Buffer> get(TestGateway g, String path, String subject) throws Exception {
    return web.getAbs(g.url(path)).bearerTokenAuthentication(g.token(subject)).send().await(10, TimeUnit.SECONDS);
  }

  @Test
  @DisplayName("a subject alternating between two instances gets its burst once in all, then 429 from both")
  void subjectLimitHoldsAcrossInstances() throws Exception {
    TestGateway a = instance(TestRedis.url());
    TestGateway b = instance(TestRedis.url());
    List<Integer> statuses = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      statuses.add(get(i % 2 == 0 ? a : b, "/api/v1/tasks", "alice").statusCode());
    }
    assertEquals(List.of(200, 200, 200, 200, 429, 429, 429, 429), statuses);
    HttpResponse<Buffer> refused = get(a, "/api/v1/tasks", "alice");
    RateLimitHttpTest.assertRateLimited(refused, "subject 'alice' on tasks");
    assertEquals(200, get(b, "/api/v1/tasks", "bob").statusCode(), "bob's bucket is his, on either instance");
  }

  @Test
  @DisplayName("a client address posting webhooks to both instances is held to one limit")
  void webhookLimitHoldsAcrossInstances() throws Exception {
    TestGateway a = instance(TestRedis.url());
    TestGateway b = instance(TestRedis.url());
    List<Boolean> refused = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      TestGateway g = i % 2 == 0 ? a : b;
      int status = web.postAbs(g.url("/webhooks/hooks/nobody")).putHeader("content-type", "application/json")
          .sendBuffer(Buffer.buffer("{}")).await(10, TimeUnit.SECONDS).statusCode();
      refused.add(status == 429);
    }
    assertEquals(List.of(false, false, false, true, true, true), refused);
  }

  @Test
  @DisplayName("while Redis cannot be asked requests go through unchecked, counted, with one log line for the outage and one for its end")
  void failsOpenWhileRedisIsDown() throws Exception {
    List<String> logged = new CopyOnWriteArrayList<>();
    Logger log = Logger.getLogger(RateLimitVerticle.class.getName());
    Handler capture = new Handler() {
      @Override
      public void publish(LogRecord record) {
        logged.add(record.getLevel() + " " + record.getMessage());
      }

      @Override
      public void flush() {
      }

      @Override
      public void close() {
      }
    };
    log.addHandler(capture);
    try {
      URI uri = URI.create(TestRedis.url());
      TcpProxy proxy = TcpProxy.start(vertx, uri.getHost(), uri.getPort()).await(10, TimeUnit.SECONDS);
      proxies.add(proxy);
      TestGateway a = instance(TestRedis.url().replaceFirst(uri.getHost() + ":" + uri.getPort(), "127.0.0.1:" + proxy.port()));
      // the rules list answers from the rules file: it needs no Redis itself
      for (int i = 0; i < 2; i++) {
        assertEquals(200, get(a, "/api/v1/rules", "erin").statusCode());
      }
      assertEquals(429, get(a, "/api/v1/rules", "erin").statusCode());

      proxy.down().await(10, TimeUnit.SECONDS);
      for (int i = 0; i < 5; i++) {
        assertEquals(200, get(a, "/api/v1/rules", "erin").statusCode(), "request " + i + " while Redis is down");
      }
      String metrics = web.getAbs(a.url("/metrics")).send().await(10, TimeUnit.SECONDS).bodyAsString();
      assertTrue(metrics.contains("switchboard_ratelimit_unchecked_total 5.0"), metrics);
      assertEquals(1, logged.stream().filter(l -> l.startsWith("WARNING") && l.contains("unchecked")).count(), logged.toString());

      proxy.up().await(10, TimeUnit.SECONDS);
      long deadline = System.currentTimeMillis() + 20_000;
      int status;
      do {
        Thread.sleep(200);
        status = get(a, "/api/v1/rules", "erin").statusCode();
      } while (status != 429 && System.currentTimeMillis() < deadline);
      assertEquals(429, status, "checked again once Redis answers: the bucket is as it was");
      assertEquals(1, logged.stream().filter(l -> l.startsWith("INFO") && l.contains("answers again")).count(), logged.toString());
      assertEquals(1, logged.stream().filter(l -> l.startsWith("WARNING")).count(), "one line for the outage: " + logged);
    } finally {
      log.removeHandler(capture);
    }
  }
}
