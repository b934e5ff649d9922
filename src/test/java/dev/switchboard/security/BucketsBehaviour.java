package dev.switchboard.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * What every bucket store does, on real time: run in memory ({@link EmbeddedBucketsTest}) and in
 * Redis ({@link RedisBucketsIT}). Each test's keys are its own.
 */
abstract class BucketsBehaviour {

  Vertx vertx;
  Buckets buckets;
  String key;

  abstract Buckets buckets(Vertx vertx);

  @BeforeEach
  void open() {
    vertx = Vertx.vertx();
    buckets = buckets(vertx);
    key = "test:" + UUID.randomUUID();
  }

  @AfterEach
  void close() throws Exception {
    buckets.close().await(10, TimeUnit.SECONDS);
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  long take(String key, RateLimits.Limit limit) throws Exception {
    return buckets.take(key, limit).await(10, TimeUnit.SECONDS);
  }

  @Test
  @DisplayName("a new bucket lets its burst through, then says how long until the next token")
  void burstThenRefused() throws Exception {
    RateLimits.Limit limit = new RateLimits.Limit(1, Duration.ofMinutes(1), 5);
    for (int i = 0; i < 5; i++) {
      assertEquals(0, take(key, limit), "take " + i);
    }
    long wait = take(key, limit);
    assertTrue(wait > 30_000 && wait <= 60_000, "wait " + wait);
  }

  @Test
  @DisplayName("a refused take takes nothing: asking again is not told to wait longer")
  void refusalTakesNothing() throws Exception {
    RateLimits.Limit limit = new RateLimits.Limit(1, Duration.ofMinutes(1), 1);
    assertEquals(0, take(key, limit));
    long first = take(key, limit);
    long second = take(key, limit);
    assertTrue(second > 0 && second <= first, first + " then " + second);
  }

  @Test
  @DisplayName("a token comes back after the wait it was told")
  void refills() throws Exception {
    RateLimits.Limit limit = new RateLimits.Limit(10, Duration.ofSeconds(1), 1);
    assertEquals(0, take(key, limit));
    long wait = take(key, limit);
    assertTrue(wait > 0 && wait <= 100, "wait " + wait);
    Thread.sleep(wait + 20);
    assertEquals(0, take(key, limit));
  }

  @Test
  @DisplayName("each key has a bucket of its own")
  void keysIndependent() throws Exception {
    RateLimits.Limit limit = new RateLimits.Limit(1, Duration.ofMinutes(1), 1);
    assertEquals(0, take(key + ":a", limit));
    assertTrue(take(key + ":a", limit) > 0);
    assertEquals(0, take(key + ":b", limit));
  }

  @Test
  @DisplayName("takes at the same moment never get more than the burst between them")
  void concurrentTakesKeepTheBurst() throws Exception {
    RateLimits.Limit limit = new RateLimits.Limit(1, Duration.ofHours(1), 10);
    List<Future<Long>> all = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      all.add(buckets.take(key, limit));
    }
    Future.all(all).await(20, TimeUnit.SECONDS);
    assertEquals(10, all.stream().filter(f -> f.result() == 0).count());
  }
}
