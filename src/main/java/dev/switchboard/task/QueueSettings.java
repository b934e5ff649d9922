package dev.switchboard.task;

import dev.switchboard.config.ConfigNode;
import java.time.Duration;

/**
 * The {@code queue} section of {@code switchboard.yaml}. {@code retryBackoff} doubles on each
 * retry up to {@code retryBackoffMax}, with full jitter; {@code visibilityTimeout} is how long a
 * worker's lease lasts unless it extends it (it does while the task runs), so a dead worker's
 * tasks are taken over after at most that long; {@code shutdownGrace} is how long a stop waits for
 * running tasks before handing them back; finished tasks are kept {@code retention}. A run whose
 * worker was lost (its lease ran out: the process died) does not use one of {@code maxAttempts}, the
 * task did not fail; {@code maxLost} bounds those instead, so that a task that kills its worker every
 * time fails in the end rather than taking gateways down forever. On the
 * distributed profile every key of the queue starts with {@code keyPrefix}: instances that share
 * a prefix (and a Redis) share their tasks.
 */
public record QueueSettings(int workers, int maxAttempts, int maxLost, Duration retryBackoff, Duration retryBackoffMax,
                            Duration taskTimeout, Duration visibilityTimeout, Duration shutdownGrace, Duration retention,
                            String keyPrefix) {

  /** Lost runs after which a task fails with {@code "worker lost N times"}. */
  public static final int DEFAULT_MAX_LOST = 5;

  public static QueueSettings from(ConfigNode node) {
    node.allowOnly("workers", "max_attempts", "max_lost", "retry_backoff", "retry_backoff_max", "task_timeout", "visibility_timeout",
        "shutdown_grace", "retention", "key_prefix");
    Duration visibility = node.get("visibility_timeout").duration(Duration.ofSeconds(60));
    if (visibility.toMillis() < 1_000) {
      throw node.get("visibility_timeout").error("must be at least 1s (a lease is extended every third of it)");
    }
    return new QueueSettings(
        node.get("workers").integer(8, 1, 1024),
        node.get("max_attempts").integer(3, 1, 100),
        node.get("max_lost").integer(DEFAULT_MAX_LOST, 1, 100),
        node.get("retry_backoff").duration(Duration.ofSeconds(2)),
        node.get("retry_backoff_max").duration(Duration.ofMinutes(5)),
        node.get("task_timeout").duration(Duration.ofMinutes(10)),
        visibility,
        node.get("shutdown_grace").duration(Duration.ofSeconds(20)),
        node.get("retention").duration(Duration.ofDays(7)),
        node.get("key_prefix").string(RedisTaskQueue.DEFAULT_PREFIX));
  }
}
