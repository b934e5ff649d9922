package dev.switchboard.security;

import io.vertx.core.http.HttpMethod;

/**
 * The families of routes that scopes, roles and rate limits are given for. One mapping from a
 * request to its family, so that access control and rate limiting cannot disagree about where a
 * route belongs. Each family's {@link #scope()} is the token scope that opens it.
 */
public enum RouteFamily {
  /** {@code /v1/chat/completions}, {@code /v1/models}, {@code /v1/embeddings}. */
  CHAT("chat"),
  /** {@code /api/v1/tasks} and below. */
  TASKS("tasks"),
  /** Reading long-term memories: GET under {@code /api/v1/memories}. */
  MEMORIES_READ("memories:read"),
  /** Adding and deleting long-term memories. */
  MEMORIES_WRITE("memories:write"),
  /** {@code /api/v1/deliveries} and below. */
  DELIVERIES("deliveries"),
  /** Every other {@code /api/v1} route (providers, rules, schedules, plug-ins, audit, ...) and {@code /metrics}. */
  ADMIN("admin"),
  /** {@code /mcp}: a token is needed; each tool checks the family of what it does. */
  MCP("mcp"),
  /** {@code /webhooks/...}: authenticated by the platform's signature, limited per client address. */
  WEBHOOKS("webhooks"),
  /** {@code /healthz}, {@code /readyz}, preflights and unmatched paths: no family. */
  OPEN("open");

  private final String scope;

  RouteFamily(String scope) {
    this.scope = scope;
  }

  /** The token scope (and the {@code security.rate_limits} key) for this family. */
  public String scope() {
    return scope;
  }

  /** The family of a request, by method and normalised path. */
  public static RouteFamily of(HttpMethod method, String path) {
    if (path.startsWith("/v1/")) {
      return CHAT;
    }
    if (under(path, "/api/v1/tasks")) {
      return TASKS;
    }
    if (under(path, "/api/v1/memories")) {
      return HttpMethod.GET.equals(method) || HttpMethod.HEAD.equals(method) ? MEMORIES_READ : MEMORIES_WRITE;
    }
    if (under(path, "/api/v1/deliveries")) {
      return DELIVERIES;
    }
    if (path.startsWith("/api/") || path.equals("/metrics")) {
      return ADMIN;
    }
    if (path.equals("/mcp")) {
      return MCP;
    }
    if (path.startsWith("/webhooks/")) {
      return WEBHOOKS;
    }
    return OPEN;
  }

  /** The family whose scope is {@code scope}, or null. */
  public static RouteFamily byScope(String scope) {
    for (RouteFamily f : values()) {
      if (f.scope.equals(scope)) {
        return f;
      }
    }
    return null;
  }

  private static boolean under(String path, String prefix) {
    return path.equals(prefix) || path.startsWith(prefix + "/");
  }
}
