package dev.switchboard.ingress;

import dev.switchboard.observe.EventLog;
import io.vertx.core.Handler;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.RoutingContext;
import java.util.Map;

/**
 * One {@code http_request} event line per request when event lines are on (method, route template,
 * status, ms; the request id comes from the context). The route is the template, never the raw
 * target: a query string may carry what should not be logged, and a path's ids are in other lines.
 */
final class RequestLog implements Handler<RoutingContext> {

  private static final String SEEN = "switchboard.request_log";

  @Override
  public void handle(RoutingContext ctx) {
    // a rerouted request passes here again: one line per request
    if (EventLog.on() && ctx.get(SEEN) == null) {
      ctx.put(SEEN, Boolean.TRUE);
      long started = System.nanoTime();
      ctx.addEndHandler(ar -> EventLog.event("http_request")
          .with("method", ctx.request().method().name())
          .with("route", template(ctx))
          .with("status", ctx.response().getStatusCode())
          .with("ms", (System.nanoTime() - started) / 1_000_000)
          .with("outcome", ar.succeeded() ? null : "connection_closed")
          .log());
    }
    ctx.next();
  }

  /** The matched route's path, else its name (unmatched, preflight), else the path with its parameters as :name. */
  static String template(RoutingContext ctx) {
    Route route = ctx.currentRoute();
    if (route != null && route.getPath() != null) {
      return route.getPath();
    }
    if (route != null && route.getName() != null) {
      return route.getName();
    }
    String path = ctx.normalizedPath();
    if (path == null) {
      return "-";
    }
    for (Map.Entry<String, String> p : ctx.pathParams().entrySet()) {
      if (p.getValue() != null && !p.getValue().isEmpty()) {
        path = path.replace("/" + p.getValue(), "/:" + p.getKey());
      }
    }
    return path;
  }
}
