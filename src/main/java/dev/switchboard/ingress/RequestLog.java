package dev.switchboard.ingress;

import dev.switchboard.observe.EventLog;
import io.vertx.core.Handler;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.Router;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * One {@code http_request} event line per request when event lines are on (method, route template,
 * status, ms; the request id comes from the context). The route is the template, never the raw
 * target: a query string may carry what should not be logged, and a path's ids are in other lines.
 */
final class RequestLog implements Handler<RoutingContext> {

  private static final String SEEN = "switchboard.request_log";
  private static final Pattern PARAM = Pattern.compile(":[A-Za-z0-9_]+");

  private final Router router;
  // built on first use: the routes are all there once the server answers
  private volatile List<Template> templates;

  RequestLog(Router router) {
    this.router = router;
  }

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

  /**
   * The matched route's path. A failed request's current route is the failure handler's, which has
   * none: then the first route whose method and path template match the request names it, and a
   * request that none matches is {@value HttpIngressVerticle#UNMATCHED}.
   */
  String template(RoutingContext ctx) {
    Route route = ctx.currentRoute();
    if (route != null && route.getPath() != null) {
      return route.getPath();
    }
    String path = ctx.normalizedPath();
    if (path != null) {
      for (Template t : templates()) {
        if ((t.methods == null || t.methods.isEmpty() || t.methods.contains(ctx.request().method())) && t.pattern.matcher(path).matches()) {
          return t.path;
        }
      }
    }
    return route != null && route.getName() != null && route.getPath() == null ? route.getName() : HttpIngressVerticle.UNMATCHED;
  }

  private record Template(String path, java.util.Set<io.vertx.core.http.HttpMethod> methods, Pattern pattern) {
  }

  private List<Template> templates() {
    List<Template> known = templates;
    if (known == null) {
      known = new ArrayList<>();
      for (Route r : router.getRoutes()) {
        if (r.getPath() != null) {
          String regex = PARAM.matcher(Pattern.quote(r.getPath())).replaceAll("\\\\E[^/]+\\\\Q");
          known.add(new Template(r.getPath(), r.methods(), Pattern.compile(r.isExactPath() ? regex : regex + ".*")));
        }
      }
      templates = known;
    }
    return known;
  }
}
