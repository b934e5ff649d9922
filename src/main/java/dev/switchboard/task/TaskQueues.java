package dev.switchboard.task;

import dev.switchboard.store.EmbeddedStore;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Path;

/**
 * The queue of a storage profile: the embedded store in the data folder, or Redis Streams shared
 * by every instance that names the same Redis.
 */
public final class TaskQueues {

  private TaskQueues() {
  }

  /** A queue and what must be closed with it. */
  public record Opened(TaskQueue queue, String profile, EmbeddedStore store) {

    public Future<Void> close() {
      return queue.close().compose(v -> store == null ? Future.succeededFuture() : store.close());
    }
  }

  public static Future<Opened> open(Vertx vertx, String profile, Path dataDir, String redisUrl, QueueSettings settings) {
    if ("distributed".equals(profile)) {
      // nothing is asked of Redis yet: a Redis that is down makes the gateway not ready, not fail to start
      return Future.succeededFuture(new Opened(
          new RedisTaskQueue(vertx, redisUrl, settings.keyPrefix(), settings.visibilityTimeout(), settings.maxLost()),
          profile, null));
    }
    return EmbeddedStore.open(vertx, dataDir).compose(store -> EmbeddedTaskQueue.open(vertx, store, settings.maxLost())
        .<Opened>map(queue -> new Opened(queue, profile, store))
        .recover(e -> store.close().transform(ignored -> Future.failedFuture(e))));
  }
}
