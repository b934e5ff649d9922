package dev.switchboard.bridge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.switchboard.observe.RequestIds;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** What of a bridge frame's own headers travels on: what the gateway sets itself is never the client's. */
@DisplayName("A bridge frame's forwarded headers")
class ForwardedHeadersTest {

  @Test
  @DisplayName("keep the client's x-request-id, but not a task id it wrote: that would put its lines under another task")
  void noTaskIdFromTheClient() {
    JsonObject forwarded = BridgeAccess.forwarded(new JsonObject().put("x-request-id", "mine-1")
        .put(RequestIds.TASK_HEADER, "01JFSOMEONEELSE").put("X-Switchboard-Task-Id", "01JFSOMEONEELSE"), new JsonObject().put("sub", "alice"));
    assertEquals("mine-1", forwarded.getString("x-request-id"));
    assertFalse(forwarded.encode().contains("01JFSOMEONEELSE"), forwarded.encode());
  }
}
