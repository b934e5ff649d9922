package dev.switchboard.task;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.switchboard.config.ConfigNode;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Retry backoff")
class BackoffTest {

  private static QueueSettings queue(String backoff, String max) {
    return QueueSettings.from(ConfigNode.of("switchboard.yaml: queue", Map.of("retry_backoff", backoff, "retry_backoff_max", max)));
  }

  @Test
  @DisplayName("the longest wait doubles with each attempt from queue.retry_backoff and stops at queue.retry_backoff_max")
  void doublesUpToTheMax() {
    QueueSettings q = queue("2s", "10s");
    assertEquals(2_000, TaskRunner.backoffCeiling(q, 1));
    assertEquals(4_000, TaskRunner.backoffCeiling(q, 2));
    assertEquals(8_000, TaskRunner.backoffCeiling(q, 3));
    assertEquals(10_000, TaskRunner.backoffCeiling(q, 4));
    assertEquals(10_000, TaskRunner.backoffCeiling(q, 60));
    assertEquals(300_000, TaskRunner.backoffCeiling(queue("2s", "5m"), 60));
  }
}
