package dev.switchboard.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.vertx.core.http.HttpMethod;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("What a request through the API is recorded as")
class AuditTrailChangeTest {

  @Test
  void aChatIsApiChatOnItsPath() {
    assertEquals(new AuditTrail.Change("api.chat", "/v1/chat/completions"),
        AuditTrail.change(HttpMethod.POST, "/v1/chat/completions", 200, null));
  }

  @Test
  void aRouteWithAnIdHasThatIdAsItsTarget() {
    assertEquals(new AuditTrail.Change("api.task.cancel", "t-42"),
        AuditTrail.change(HttpMethod.POST, "/api/v1/tasks/t-42/cancel", 200, null));
    assertEquals(new AuditTrail.Change("api.memory.delete", "m-7"),
        AuditTrail.change(HttpMethod.DELETE, "/api/v1/memories/m-7", 404, null));
  }

  @Test
  void aCreationHasTheIdItsLocationNames() {
    assertEquals(new AuditTrail.Change("api.task.submit", "t-1"),
        AuditTrail.change(HttpMethod.POST, "/api/v1/tasks", 202, "/api/v1/tasks/t-1"));
  }

  @Test
  void aRefusedCreationKeepsItsPath() {
    assertEquals(new AuditTrail.Change("api.task.submit", "/api/v1/tasks"),
        AuditTrail.change(HttpMethod.POST, "/api/v1/tasks", 400, "/api/v1/tasks/t-1"));
  }

  @Test
  void readsDryRunsAndPathsOutsideTheApiAreNotChanges() {
    assertNull(AuditTrail.change(HttpMethod.GET, "/api/v1/tasks", 200, null));
    assertNull(AuditTrail.change(HttpMethod.POST, "/api/v1/rules/test", 200, null));
    assertNull(AuditTrail.change(HttpMethod.POST, "/webhooks/feishu/default", 200, null));
  }

  @Test
  void anUnlistedChangeIsNamedByItsMethod() {
    // the method decides the route: a DELETE of a task is no cancel
    assertEquals(new AuditTrail.Change("api.delete", "/api/v1/tasks/t-42/cancel"),
        AuditTrail.change(HttpMethod.DELETE, "/api/v1/tasks/t-42/cancel", 405, null));
  }
}
