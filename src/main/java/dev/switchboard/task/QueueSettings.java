package dev.switchboard.task;

import dev.switchboard.config.ConfigNode;
import java.time.Duration;

/**
 * The {@code queue} section of {@code switchboard.yaml}. {@code retryBackoff} doubles on each
 * retry up to {@code retryBackoffMax}, with full jitter; {@code visibilityTimeout} is how long a
 * worker's lease lasts unless it extends it (it does while the task runs), so a dead worker's
 * tasks are taken over after at most that long; {@code shutdownGrace} is how long a stop waits for
 * running tasks before handing them back; finished tasks are kept {@code retention}. On the
 * distributed profile every key of the queue starts with {@code keyPrefix}: instances that share
 * a prefix (and a Redis) share their tasks.
 */
public record QueueSettings(int workers, int maxAttempts, Duration retryBackoff, Duration retryBackoffMax,
                            Duration taskTimeout, Duration visibilityTimeout, Duration shutdownGrace, Duration retention,
                            String keyPrefix) {

  public static QueueSettings from(ConfigNode node) {
    node.allowOnly("workers", "max_attempts", "retry_backoff", "retry_backoff_max", "task_timeout", "visibility_timeout",
        "shutdown_grace", "retention", "key_prefix");
    Duration visibility = node.get("visibility_timeout").duration(Duration.ofSeconds(60));
    if (visibility.toMillis() < 1_000) {
      throw node.get("visibility_timeout").error("must be at least 1s (a lease is extended every third of it)");
    }
    return new QueueSettings(
        node.get("workers").integer(8, 1, 1024),
        node.get("max_attempts").integer(3, 1, 100),
        node.get("retry_backoff").duration(Duration.ofSeconds(2)),
        node.get("retry_backoff_max").duration(Duration.ofMinutes(5)),
        node.get("task_timeout").duration(Duration.ofMinutes(10)),
        visibility,
        node.get("shutdown_grace").duration(Duration.ofSeconds(20)),
        node.get("retention").duration(Duration.ofDays(7)),
        node.get("key_prefix").string(RedisTaskQueue.DEFAULT_PREFIX));
  }
}
