package dev.switchboard.task;

import dev.switchboard.config.ConfigNode;
import java.time.Duration;

/** The {@code queue} section of {@code switchboard.yaml}. */
public record QueueSettings(int workers, int maxAttempts, Duration retryBackoff, Duration taskTimeout) {

  public static QueueSettings from(ConfigNode node) {
    node.allowOnly("workers", "max_attempts", "retry_backoff", "task_timeout");
    return new QueueSettings(
        node.get("workers").integer(8, 1, 1024),
        node.get("max_attempts").integer(3, 1, 100),
        node.get("retry_backoff").duration(Duration.ofSeconds(2)),
        node.get("task_timeout").duration(Duration.ofMinutes(10)));
  }
}
