package dev.switchboard.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.observe.RequestIds;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(VertxExtension.class)
@DisplayName("A bot's rate limiter")
class RateLimiterTest {

  @Test
  @DisplayName("every window holds: 5 per second and 2 per 200 ms, in order of arrival")
  void allWindowsHold(Vertx vertx, VertxTestContext ctx) {
    vertx.runOnContext(v -> {
      RateLimiter limiter = new RateLimiter(vertx, List.of(
          new Bot.RateLimit(5, Duration.ofSeconds(1)), new Bot.RateLimit(2, Duration.ofMillis(200))));
      List<Integer> order = new CopyOnWriteArrayList<>();
      List<Long> at = new CopyOnWriteArrayList<>();
      long start = System.nanoTime();
      List<Future<Void>> turns = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        int n = i;
        turns.add(limiter.acquire(false).onSuccess(x -> {
          order.add(n);
          at.add((System.nanoTime() - start) / 1_000_000);
          limiter.release();
        }));
      }
      Future.all(turns).onComplete(ctx.succeeding(all -> ctx.verify(() -> {
        assertEquals(List.of(0, 1, 2, 3, 4, 5), order);
        assertTrue(at.get(2) >= 200, "third waits for the 200 ms window: " + at);
        assertTrue(at.get(4) >= 400, "fifth waits for two 200 ms windows: " + at);
        assertTrue(at.get(5) >= 1000, "sixth waits for the one-second window: " + at);
        ctx.completeNow();
      })));
    });
  }

  @Test
  @DisplayName("the next message waits for the answer to the one before, whatever the windows allow")
  void oneAtATime(Vertx vertx, VertxTestContext ctx) {
    vertx.runOnContext(v -> {
      RateLimiter limiter = new RateLimiter(vertx, List.of(new Bot.RateLimit(100, Duration.ofSeconds(1))));
      List<String> order = new CopyOnWriteArrayList<>();
      limiter.acquire(false).onSuccess(x -> {
        order.add("first");
        vertx.setTimer(100, id -> {
          order.add("first answered");
          limiter.release();
        });
      });
      limiter.acquire(false).onSuccess(x -> ctx.verify(() -> {
        assertEquals(List.of("first", "first answered"), order);
        limiter.release();
        ctx.completeNow();
      }));
    });
  }

  @Test
  @DisplayName("a retry goes before messages that were waiting, and a platform hold delays everyone")
  void retriesFirstAndHolds(Vertx vertx, VertxTestContext ctx) {
    vertx.runOnContext(v -> {
      RateLimiter limiter = new RateLimiter(vertx, List.of(new Bot.RateLimit(1, Duration.ofMillis(100))));
      List<String> order = new CopyOnWriteArrayList<>();
      long start = System.nanoTime();
      limiter.acquire(false).onSuccess(x -> {
        order.add("first");
        limiter.release();
      });
      Future<Void> later = limiter.acquire(false).onSuccess(x -> {
        order.add("later");
        limiter.release();
      });
      limiter.pauseFor(300);
      Future<Void> retry = limiter.acquire(true).onSuccess(x -> {
        order.add("retry");
        limiter.release();
      });
      Future.all(later, retry).onComplete(ctx.succeeding(all -> ctx.verify(() -> {
        assertEquals(List.of("first", "retry", "later"), order);
        assertTrue((System.nanoTime() - start) / 1_000_000 >= 300, "the hold was kept");
        ctx.completeNow();
      })));
    });
  }

  @Test
  @DisplayName("a message let through after the one before it goes on with its own request id, not the one before's")
  void turnKeepsItsOwnRequest(Vertx vertx, VertxTestContext ctx) {
    vertx.runOnContext(v -> {
      RateLimiter limiter = new RateLimiter(vertx, List.of(new Bot.RateLimit(100, Duration.ofSeconds(1))));
      // the first push is answered (and gives its turn back) on its own work's context
      RequestIds.within(vertx, "push-a", "task-a", () -> limiter.acquire(false).compose(x -> {
        Promise<Void> answered = Promise.promise();
        vertx.setTimer(50, id -> {
          limiter.release();
          answered.complete();
        });
        return answered.future();
      }));
      RequestIds.within(vertx, "push-b", "task-b", () -> limiter.acquire(false)
              .map(x -> RequestIds.current() + "/" + RequestIds.currentTask()))
          .onComplete(ctx.succeeding(seen -> ctx.verify(() -> {
            assertEquals("push-b/task-b", seen);
            ctx.completeNow();
          })));
    });
  }
}
