package dev.switchboard.console;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.StaticHandler;

/**
 * The web console: static files (ES modules, CSS, no build step) served from the jar under
 * {@code /console/}. The page itself carries no data and needs no token; everything it shows comes
 * from the API, which the page calls with the token the operator pasted, so the API's own
 * authentication and roles decide what the console may see and do.
 */
public final class Console {

  public static final String PATH = "/console";
  /** Where the files live on the classpath (src/main/resources/console). */
  static final String WEB_ROOT = "console";
  /**
   * Only the console's own files run, style and are fetched; no inline script or style, no
   * framing, no forms posted elsewhere. A bug that renders data as markup still cannot run it.
   */
  public static final String CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; "
      + "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
  /**
   * The files are not named by their content, so a browser revalidates each time (a 304 from
   * Last-Modified is cheap): a new jar's console shows at once, never a mix of old and new modules.
   */
  static final String CACHE_CONTROL = "no-cache";

  private Console() {
  }

  /** Mounts {@code GET /console} (a redirect to {@code /console/}) and the files under it. */
  public static void mount(Router router) {
    // the modules import each other relative to the page, so the page's URL must end with a slash
    // (a route for /console matches /console/ too)
    router.get(PATH).handler(ctx -> {
      if (PATH.equals(ctx.request().path())) {
        ctx.redirect(PATH + "/");
      } else {
        ctx.next();
      }
    });
    StaticHandler files = StaticHandler.create(WEB_ROOT)
        .setCachingEnabled(true)
        .setDirectoryListing(false)
        .setIncludeHidden(false)
        .setIndexPage("index.html")
        .setDefaultContentEncoding("UTF-8");
    router.route(PATH + "/*").method(HttpMethod.GET).method(HttpMethod.HEAD).handler(Console::headers).handler(files);
  }

  /** Set when the headers go out, so they hold whatever the static handler set (its own cache-control). */
  private static void headers(RoutingContext ctx) {
    HttpServerResponse response = ctx.response();
    ctx.addHeadersEndHandler(v -> {
      if (response.getStatusCode() < 400) {
        response.putHeader(HttpHeaderNames.CACHE_CONTROL, CACHE_CONTROL);
        response.putHeader("Content-Security-Policy", CONTENT_SECURITY_POLICY);
        response.putHeader("X-Content-Type-Options", "nosniff");
        response.putHeader("Referrer-Policy", "no-referrer");
        response.putHeader("X-Frame-Options", "DENY");
      }
    });
    ctx.next();
  }
}
