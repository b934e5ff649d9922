package dev.switchboard.console;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.net.URLConnection;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The web console: static files (ES modules, CSS, no build step) served from the jar under
 * {@code /console/}, and only from it: Vert.x's StaticHandler looks in the working directory first,
 * which would serve whatever a {@code console/} folder there holds, openly, in the console's place.
 * The page itself carries no data and needs no token; everything it shows comes from the API, which
 * the page calls with the token the operator pasted, so the API's own authentication and roles
 * decide what the console may see and do.
 */
public final class Console {

  public static final String PATH = "/console";
  /** Where the files live on the classpath (src/main/resources/console). */
  static final String WEB_ROOT = "console";
  /** A file name the console may have: one flat folder, no dots but the extension's, so no way out of it. */
  private static final Pattern NAME = Pattern.compile("([a-z0-9][a-z0-9-]*)\\.(html|js|css|svg)");
  private static final Map<String, String> TYPES = Map.of("html", "text/html; charset=utf-8",
      "js", "text/javascript; charset=utf-8", "css", "text/css; charset=utf-8", "svg", "image/svg+xml");
  /** The files read so far (only files the jar has: a miss is not kept, so requests cannot grow it). */
  private static final Map<String, File> FILES = new ConcurrentHashMap<>();

  /** A file as read once: its validators are its content's hash and the jar entry's time. */
  private record File(Buffer body, String type, Instant modified, String etag) {
  }

  /**
   * Only the console's own files run, style and are fetched; no inline script or style, no
   * framing, no forms posted elsewhere. A bug that renders data as markup still cannot run it.
   */
  public static final String CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; "
      + "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
  /**
   * The files are not named by their content, so a browser revalidates each time (a 304 from the
   * ETag or Last-Modified is cheap): a new jar's console shows at once, never a mix of old and new modules.
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
    router.route(PATH + "/*").method(HttpMethod.GET).method(HttpMethod.HEAD).handler(Console::headers).handler(Console::serve);
  }

  /** A file of the jar's console folder, or the next handler (the API's JSON 404) for anything else. */
  private static void serve(RoutingContext ctx) {
    String rest = ctx.request().path().substring(PATH.length() + 1);
    Matcher name = NAME.matcher(rest.isEmpty() ? "index.html" : rest);
    if (!name.matches()) {
      ctx.next();
      return;
    }
    File known = FILES.get(name.group());
    (known != null ? Future.succeededFuture(Optional.of(known))
        : ctx.vertx().executeBlocking(() -> read(name.group(), name.group(2))))
        .onSuccess(file -> {
          if (file.isEmpty()) {
            ctx.next();
            return;
          }
          FILES.putIfAbsent(name.group(), file.get());
          send(ctx, file.get());
        })
        .onFailure(ctx::fail);
  }

  private static Optional<File> read(String name, String extension) throws IOException {
    URL url = Console.class.getClassLoader().getResource(WEB_ROOT + "/" + name);
    if (url == null) {
      return Optional.empty();
    }
    URLConnection connection = url.openConnection();
    long modified = connection.getLastModified();
    try (InputStream in = connection.getInputStream()) {
      byte[] bytes = in.readAllBytes();
      String etag;
      try {
        etag = "\"" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes), 0, 16) + "\"";
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException(e); // every Java has SHA-256
      }
      Instant at = Instant.ofEpochMilli(modified > 0 ? modified : System.currentTimeMillis()).truncatedTo(ChronoUnit.SECONDS);
      return Optional.of(new File(Buffer.buffer(bytes), TYPES.get(extension), at, etag));
    }
  }

  private static void send(RoutingContext ctx, File file) {
    HttpServerResponse response = ctx.response();
    response.putHeader(HttpHeaderNames.LAST_MODIFIED, DateTimeFormatter.RFC_1123_DATE_TIME.format(file.modified().atZone(ZoneOffset.UTC)));
    response.putHeader(HttpHeaderNames.ETAG, file.etag());
    // the content's hash decides when the browser sends it (a rebuilt jar may keep the entries' times)
    String tags = ctx.request().getHeader(HttpHeaderNames.IF_NONE_MATCH);
    String since = ctx.request().getHeader(HttpHeaderNames.IF_MODIFIED_SINCE);
    boolean unchanged = tags != null
        ? Arrays.stream(tags.split(",")).map(String::trim).anyMatch(t -> t.equals(file.etag()) || t.equals("*"))
        : since != null && notModifiedSince(since, file.modified());
    if (unchanged) {
      response.setStatusCode(304).end();
      return;
    }
    response.putHeader(HttpHeaderNames.CONTENT_TYPE, file.type());
    if (ctx.request().method() == HttpMethod.HEAD) {
      response.putHeader(HttpHeaderNames.CONTENT_LENGTH, String.valueOf(file.body().length())).end();
    } else {
      response.end(file.body());
    }
  }

  private static boolean notModifiedSince(String since, Instant modified) {
    try {
      return !modified.isAfter(ZonedDateTime.parse(since, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant());
    } catch (DateTimeParseException e) {
      return false; // a date it cannot read: the file, as if it had not been asked
    }
  }

  /** Set when the headers go out, on the files and their 304s, not on the API's 404. */
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
