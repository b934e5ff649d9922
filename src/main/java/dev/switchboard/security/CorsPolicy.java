package dev.switchboard.security;

import dev.switchboard.config.ConfigNode;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.handler.CorsHandler;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * {@code security.cors}: the browser origins allowed to call the API. Off (no CORS headers at
 * all) unless {@code origins} lists some; {@code "*"} allows any origin. Tokens travel in the
 * {@code Authorization} header, never in cookies, so credentials are not allowed.
 */
public record CorsPolicy(List<String> origins) {

  public static final CorsPolicy OFF = new CorsPolicy(List.of());

  /** What a browser may send: the token, JSON, and the headers the API reads. */
  static final Set<String> ALLOWED_HEADERS = Set.of("Authorization", "Content-Type", "Idempotency-Key", "x-switchboard-tags");
  /** What a browser script may read besides the simple headers. */
  static final Set<String> EXPOSED_HEADERS = Set.of("x-switchboard-provider", "x-switchboard-overhead-ms", "Location");
  static final Set<HttpMethod> METHODS = Set.of(HttpMethod.GET, HttpMethod.POST, HttpMethod.PUT, HttpMethod.DELETE);
  /** Browsers cache a preflight this long (seconds). */
  static final int MAX_AGE = 600;

  public CorsPolicy {
    origins = List.copyOf(origins);
  }

  public static CorsPolicy from(ConfigNode cors) {
    cors.allowOnly("origins");
    List<String> origins = new ArrayList<>();
    for (ConfigNode item : cors.get("origins").list()) {
      String origin = item.string("");
      if (origin.isEmpty()) {
        continue;
      }
      if (!"*".equals(origin) && !isOrigin(origin)) {
        throw item.error("must be an origin such as https://app.example.com (scheme://host[:port], no path) or \"*\", got '"
            + origin + "'");
      }
      origins.add(origin);
    }
    return new CorsPolicy(origins);
  }

  public boolean enabled() {
    return !origins.isEmpty();
  }

  /** The handler for API routes, or none when CORS is off. */
  public Optional<CorsHandler> handler() {
    if (!enabled()) {
      return Optional.empty();
    }
    CorsHandler handler = CorsHandler.create();
    if (!origins.contains("*")) {
      handler.addOrigins(origins);
    }
    return Optional.of(handler
        .allowedHeaders(ALLOWED_HEADERS)
        .exposedHeaders(EXPOSED_HEADERS)
        .allowedMethods(METHODS)
        .allowCredentials(false)
        .maxAgeSeconds(MAX_AGE));
  }

  private static boolean isOrigin(String s) {
    try {
      URI uri = new URI(s);
      return ("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))
          && uri.getHost() != null && uri.getRawUserInfo() == null
          && (uri.getRawPath() == null || uri.getRawPath().isEmpty())
          && uri.getRawQuery() == null && uri.getRawFragment() == null;
    } catch (java.net.URISyntaxException e) {
      return false;
    }
  }
}
