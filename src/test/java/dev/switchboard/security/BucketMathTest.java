package dev.switchboard.security;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The token-bucket arithmetic, on a clock the test moves by hand (embedded buckets; the Redis script does the same sums). */
@DisplayName("Rate-limit buckets: the arithmetic")
class BucketMathTest {

  final AtomicLong clock = new AtomicLong(1_000_000_000L);
  final EmbeddedBuckets buckets = new EmbeddedBuckets(clock::get);
  /** 2 tokens a second (one every 500 ms), up to 3 at once. */
  final RateLimits.Limit twoPerSecond = new RateLimits.Limit(2, Duration.ofSeconds(1), 3);

  void advance(long ms) {
    clock.addAndGet(ms * 1_000_000);
  }

  @Test
  @DisplayName("a new bucket holds its burst: that many go at once, the next is told to wait one token's time")
  void burstThenWait() {
    for (int i = 0; i < 3; i++) {
      assertEquals(0, buckets.takeNow("k", twoPerSecond), "take " + i);
    }
    assertEquals(500, buckets.takeNow("k", twoPerSecond));
  }

  @Test
  @DisplayName("the wait is what is left of the next token's time, and a refused take takes nothing")
  void waitShrinksWithTime() {
    for (int i = 0; i < 3; i++) {
      buckets.takeNow("k", twoPerSecond);
    }
    advance(200);
    assertEquals(300, buckets.takeNow("k", twoPerSecond));
    assertEquals(300, buckets.takeNow("k", twoPerSecond), "asking again costs nothing");
    advance(300);
    assertEquals(0, buckets.takeNow("k", twoPerSecond));
    assertEquals(500, buckets.takeNow("k", twoPerSecond));
  }

  @Test
  @DisplayName("tokens come back at the rate, but never more than the burst, however long the bucket was idle")
  void refillCappedAtBurst() {
    for (int i = 0; i < 3; i++) {
      buckets.takeNow("k", twoPerSecond);
    }
    advance(1_000);
    assertEquals(0, buckets.takeNow("k", twoPerSecond));
    assertEquals(0, buckets.takeNow("k", twoPerSecond));
    assertEquals(500, buckets.takeNow("k", twoPerSecond), "two tokens in a second");
    advance(Duration.ofHours(5).toMillis());
    for (int i = 0; i < 3; i++) {
      assertEquals(0, buckets.takeNow("k", twoPerSecond), "take " + i);
    }
    assertEquals(500, buckets.takeNow("k", twoPerSecond), "an idle bucket holds its burst, no more");
  }

  @Test
  @DisplayName("a wait is rounded up to whole ms, never 0")
  void waitRoundedUp() {
    RateLimits.Limit threePerSecond = new RateLimits.Limit(3, Duration.ofSeconds(1), 1);
    assertEquals(0, buckets.takeNow("k", threePerSecond));
    assertEquals(334, buckets.takeNow("k", threePerSecond));
    clock.addAndGet(333_333_000);
    assertEquals(1, buckets.takeNow("k", threePerSecond));
  }

  @Test
  @DisplayName("each key has a bucket of its own")
  void keysIndependent() {
    RateLimits.Limit one = new RateLimits.Limit(1, Duration.ofMinutes(1), 1);
    assertEquals(0, buckets.takeNow("a", one));
    assertEquals(60_000, buckets.takeNow("a", one));
    assertEquals(0, buckets.takeNow("b", one));
  }

  @Test
  @DisplayName("a bucket that is full again is forgotten by the sweep; one still refilling is kept")
  void sweepForgetsFullBuckets() {
    buckets.takeNow("busy", twoPerSecond);
    buckets.takeNow("busy", twoPerSecond);
    buckets.takeNow("idle", twoPerSecond);
    advance(500);
    assertEquals(1, buckets.sweep(), "idle is full again after one token's time; busy needs two");
    advance(500);
    assertEquals(0, buckets.sweep());
    for (int i = 0; i < 3; i++) {
      assertEquals(0, buckets.takeNow("busy", twoPerSecond), "a forgotten bucket starts full, as it was");
    }
  }
}
