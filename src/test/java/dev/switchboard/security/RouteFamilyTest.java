package dev.switchboard.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.vertx.core.http.HttpMethod;
import org.junit.jupiter.api.Test;

class RouteFamilyTest {

  @Test
  void theOpenAiRoutesAreChat() {
    assertEquals(RouteFamily.CHAT, RouteFamily.of(HttpMethod.POST, "/v1/chat/completions"));
    assertEquals(RouteFamily.CHAT, RouteFamily.of(HttpMethod.GET, "/v1/models"));
  }

  @Test
  void memoriesSplitByMethod() {
    assertEquals(RouteFamily.MEMORIES_READ, RouteFamily.of(HttpMethod.GET, "/api/v1/memories/search"));
    assertEquals(RouteFamily.MEMORIES_WRITE, RouteFamily.of(HttpMethod.POST, "/api/v1/memories"));
    assertEquals(RouteFamily.MEMORIES_WRITE, RouteFamily.of(HttpMethod.DELETE, "/api/v1/memories/m1"));
  }

  @Test
  void aPrefixIsNotAFamilyOfItsOwn() {
    assertEquals(RouteFamily.ADMIN, RouteFamily.of(HttpMethod.GET, "/api/v1/tasksx"));
    assertEquals(RouteFamily.TASKS, RouteFamily.of(HttpMethod.POST, "/api/v1/tasks/t1/retry"));
  }

  @Test
  void everyOtherApiRouteAndMetricsAreAdmin() {
    assertEquals(RouteFamily.ADMIN, RouteFamily.of(HttpMethod.GET, "/api/v1/providers"));
    assertEquals(RouteFamily.ADMIN, RouteFamily.of(HttpMethod.GET, "/metrics"));
  }

  @Test
  void healthAndWebhooksHaveTheirOwn() {
    assertEquals(RouteFamily.OPEN, RouteFamily.of(HttpMethod.GET, "/healthz"));
    assertEquals(RouteFamily.WEBHOOKS, RouteFamily.of(HttpMethod.POST, "/webhooks/dingtalk/ops"));
  }

  @Test
  void scopesNameTheirFamily() {
    assertEquals(RouteFamily.MEMORIES_WRITE, RouteFamily.byScope("memories:write"));
    assertNull(RouteFamily.byScope("everything"));
  }
}
