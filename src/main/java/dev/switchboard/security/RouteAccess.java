package dev.switchboard.security;

import dev.switchboard.bus.Failure;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;
import java.util.List;

/**
 * Authorisation of HTTP requests, after {@link BearerAuthHandler} has verified the token: the
 * request's {@link RouteFamily} against the token's {@link Principal}, and the memory scopes a
 * request names against its {@code memory_scopes}. Both refusals are 403s that say what the token
 * lacks.
 */
public final class RouteAccess {

  private RouteAccess() {
  }

  /** Lets the request on when its principal may use the request's family; a 403 otherwise. */
  static void admit(RoutingContext ctx, Principal principal) {
    admit(ctx, principal, RoutingContext::next);
  }

  /** As {@link #admit(RoutingContext, Principal)}, going on with {@code then} (which moves the request on itself). */
  static void admit(RoutingContext ctx, Principal principal, io.vertx.core.Handler<RoutingContext> then) {
    String refusal = principal.refusal(RouteFamily.of(ctx.request().method(), ctx.normalizedPath()), ctx.request().method());
    if (refusal != null) {
      ctx.fail(Failure.forbidden("forbidden", refusal));
      return;
    }
    then.handle(ctx);
  }

  /**
   * A 403 when any of {@code scopes} is outside the request's token's {@code memory_scopes}, or the
   * token may not use the memories family (read or write) at all.
   */
  public static void checkMemoryScopes(RoutingContext ctx, List<String> scopes, boolean write) {
    checkMemoryScopes(BearerAuthHandler.principal(ctx), scopes, write);
  }

  public static void checkMemoryScopes(Principal principal, List<String> scopes, boolean write) {
    // memories reached through another family (a chat's memory option, a task's memory_scope) need
    // their own scope too: a token narrowed to chat or tasks must not read or write memories by them
    if (!scopes.isEmpty()) {
      checkFamily(principal, write ? RouteFamily.MEMORIES_WRITE : RouteFamily.MEMORIES_READ);
    }
    String refusal = principal.memoryRefusal(scopes, write);
    if (refusal != null) {
      throw Failure.forbidden("memory_scope_forbidden", refusal);
    }
  }

  /** A 403 when the principal may not use {@code family} in full (for callers that are not routes, such as MCP tools). */
  public static void checkFamily(Principal principal, RouteFamily family) {
    String refusal = principal.refusal(family, HttpMethod.POST);
    if (refusal != null) {
      throw Failure.forbidden("forbidden", refusal);
    }
  }
}
