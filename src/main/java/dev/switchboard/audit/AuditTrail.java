package dev.switchboard.audit;

import dev.switchboard.security.BearerAuthHandler;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The HTTP side of the audit log: once a request has been answered, a change made through the
 * API (anything but a read) and every authentication failure (a 401, on any route) leave a
 * record with the caller, the request id ({@code x-request-id}), the status and the sizes. What the
 * change did (the task that ran, the memory stored) the components record themselves.
 */
public final class AuditTrail implements Handler<RoutingContext> {

  private static final String SEEN = "switchboard.audit.seen";
  private static final int MAX_REQUEST_ID = 128;
  private static final int MAX_BODY = 64 * 1024;

  /** A change through the API: method, path (a group is the target), action; a null action is not recorded. */
  private record Route(HttpMethod method, Pattern path, String action) {
  }

  private static final List<Route> ROUTES = List.of(
      route(HttpMethod.POST, "/v1/chat/completions", "api.chat"),
      route(HttpMethod.POST, "/v1/embeddings", "api.embeddings"),
      route(HttpMethod.POST, "/api/v1/tasks", "api.task.submit"),
      route(HttpMethod.POST, "/api/v1/tasks/([^/]+)/cancel", "api.task.cancel"),
      route(HttpMethod.POST, "/api/v1/tasks/([^/]+)/retry", "api.task.retry"),
      route(HttpMethod.POST, "/api/v1/deliveries/([^/]+)/retry", "api.delivery.retry"),
      route(HttpMethod.POST, "/api/v1/memories", "api.memory.add"),
      route(HttpMethod.DELETE, "/api/v1/memories/([^/]+)", "api.memory.delete"),
      route(HttpMethod.PUT, "/api/v1/rules", "api.rules.put"),
      route(HttpMethod.POST, "/api/v1/admin/reload", "api.admin.reload"),
      route(HttpMethod.POST, "/api/v1/rules/test", null), // renders, changes nothing
      route(HttpMethod.POST, "/api/v1/schedules", "api.schedule.add"),
      route(HttpMethod.DELETE, "/api/v1/schedules/([^/]+)", "api.schedule.delete"),
      route(HttpMethod.POST, "/api/v1/plugins/([^/]+)/enable", "api.plugin.enable"),
      route(HttpMethod.POST, "/api/v1/plugins/([^/]+)/disable", "api.plugin.disable"));

  private static Route route(HttpMethod method, String path, String action) {
    return new Route(method, Pattern.compile(path), action);
  }

  private final Vertx vertx;

  public AuditTrail(Vertx vertx) {
    this.vertx = vertx;
  }

  @Override
  public void handle(RoutingContext ctx) {
    // a rerouted request passes here again: one record per request
    if (ctx.get(SEEN) == null) {
      ctx.put(SEEN, Boolean.TRUE);
      ctx.addEndHandler(ar -> answered(ctx));
    }
    ctx.next();
  }

  private void answered(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    int status = ctx.response().getStatusCode();
    String path = ctx.normalizedPath();
    String code = Integer.toString(status);
    AuditEvent refusal = refusal(ctx, status, path);
    if (refusal != null) {
      Audit.record(vertx, refusal
          .requestId(requestId(ctx))
          .detail("status", code)
          .size("request_bytes", request.bytesRead())
          .size("response_bytes", ctx.response().bytesWritten()));
      return;
    }
    Change change = change(request.method(), path, status, ctx.response().headers().get("Location"));
    if (change == null) {
      return;
    }
    // every chat passes here: the event is made once, with its maps, not copied per value
    Map<String, String> details = Map.of("status", code);
    if (Audit.bodies(vertx) && ctx.body() != null && ctx.body().buffer() != null) {
      Buffer body = ctx.body().buffer();
      details = Map.of("status", code, AuditEvent.BODY, body.length() > MAX_BODY ? body.getString(0, MAX_BODY) : body.toString());
    }
    Audit.record(vertx, AuditEvent.of(BearerAuthHandler.subject(ctx), change.action(), change.target(),
        status < 400 ? "ok" : status < 500 ? "refused" : "failed", requestId(ctx),
        Map.of("request_bytes", request.bytesRead(), "response_bytes", ctx.response().bytesWritten()), details));
  }

  /** A 401, or a 403 to a valid token: what was refused and why; null for any other answer. */
  private static AuditEvent refusal(RoutingContext ctx, int status, String path) {
    HttpServerRequest request = ctx.request();
    Throwable why = ctx.failure();
    if (status == 401) {
      return AuditEvent.of("", "auth.failure", path, "refused")
          .detail("method", request.method().name())
          .detail("reason", why == null ? null : why.getMessage())
          .detail("client", request.remoteAddress() == null ? null : request.remoteAddress().hostAddress());
    }
    if (status == 403 && !BearerAuthHandler.subject(ctx).isEmpty()) {
      // a valid token asking for what its roles, scopes or memory scopes do not open
      return AuditEvent.of(BearerAuthHandler.subject(ctx), "auth.forbidden", path, "refused")
          .detail("method", request.method().name())
          .detail("reason", why == null ? null : why.getMessage());
    }
    return null;
  }

  /** The id the response carries (the client's when valid, else the one made for it: observe.RequestIds). */
  private static String requestId(RoutingContext ctx) {
    String requestId = ctx.response().headers().get(dev.switchboard.observe.RequestIds.HEADER);
    if (requestId == null) {
      requestId = ctx.request().getHeader(dev.switchboard.observe.RequestIds.HEADER);
    }
    return requestId == null ? "" : requestId.length() > MAX_REQUEST_ID ? requestId.substring(0, MAX_REQUEST_ID) : requestId;
  }

  /** The query of {@code GET /api/v1/audit}, as strings ({@link AuditVerticle} checks them). */
  public static io.vertx.core.json.JsonObject query(RoutingContext ctx) {
    var params = ctx.queryParams();
    return new io.vertx.core.json.JsonObject().put("subject", params.get("subject")).put("action", params.get("action"))
        .put("since", params.get("since")).put("limit", params.get("limit")).put("cursor", params.get("cursor"));
  }

  /** What a change through the API did: its action and its target (a group of its path, or what it created). */
  record Change(String action, String target) {
  }

  /** The change a request made, or null for a read, a dry run or a path outside the API. */
  static Change change(HttpMethod method, String path, int status, String location) {
    if (path == null || !(path.startsWith("/v1/") || path.startsWith("/api/"))
        || method == HttpMethod.GET || method == HttpMethod.HEAD || method == HttpMethod.OPTIONS) {
      return null;
    }
    for (Route r : ROUTES) {
      if (!r.method().equals(method)) {
        continue;
      }
      Matcher m = r.path().matcher(path);
      if (m.matches()) {
        if (r.action() == null) {
          return null;
        }
        if (m.groupCount() > 0) {
          return new Change(r.action(), m.group(1));
        }
        // the id of what was created
        return new Change(r.action(), location != null && status < 300 ? location.substring(location.lastIndexOf('/') + 1) : path);
      }
    }
    return new Change("api." + method.name().toLowerCase(java.util.Locale.ROOT), path);
  }
}
