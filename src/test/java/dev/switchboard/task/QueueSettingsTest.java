package dev.switchboard.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.config.ConfigNode;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("queue settings")
class QueueSettingsTest {

  private static QueueSettings queue(Map<String, Object> keys) {
    return QueueSettings.from(ConfigNode.of("switchboard.yaml: queue", keys));
  }

  @Test
  @DisplayName("queue.max_lost is 5 when not set, and read when set")
  void maxLostDefaultAndSet() {
    assertEquals(5, queue(Map.of()).maxLost());
    assertEquals(2, queue(Map.of("max_lost", 2)).maxLost());
  }

  @Test
  @DisplayName("queue.max_lost below 1 is refused with a line naming the file and key")
  void maxLostBelowOneRefused() {
    RuntimeException e = assertThrows(RuntimeException.class, () -> queue(Map.of("max_lost", 0)));
    assertTrue(e.getMessage().contains("switchboard.yaml") && e.getMessage().contains("max_lost"), e.getMessage());
    assertTrue(e.getMessage().contains("between 1 and 100"), e.getMessage());
  }
}
