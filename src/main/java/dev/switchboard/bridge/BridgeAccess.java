package dev.switchboard.bridge;

import dev.switchboard.security.Principal;
import dev.switchboard.security.RouteFamily;

import dev.switchboard.audit.AuditEvent;
import dev.switchboard.bus.Failure;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.authentication.TokenCredentials;
import io.vertx.ext.auth.jwt.JWTAuth;
import java.util.List;

/**
 * Who may use the bridges, and for what: a token verified by the gateway's JWTAuth, then the
 * address checked against the configured list of its direction and the caller's roles. Both
 * bridges ask here and nowhere else.
 */
public final class BridgeAccess {

  /** INBOUND: a client sends or publishes to the address; OUTBOUND: a client registers to receive from it. */
  public enum Direction { INBOUND, OUTBOUND }

  /** The header the bridges set on what they forward: the verified caller's {@code sub} (a client's own value is dropped). */
  public static final String SUBJECT_HEADER = "x-switchboard-subject";
  /**
   * The header the bridges set with the verified caller's roles, scope and memory_scopes (a JSON
   * object; a client's own value is dropped), so that a public address can hold a request to the
   * memory scopes its token allows, as the HTTP API does.
   */
  public static final String PRINCIPAL_HEADER = "x-switchboard-principal";

  /**
   * How long a connection may stay open without a valid token: a client sends one with its first
   * frames, and connections that never do would otherwise hold sockets open for good (pings included).
   */
  public static final long AUTH_WINDOW_MS = 10_000;

  private final JWTAuth auth;
  private final BridgeSettings settings;
  private final boolean legacyTokens;

  public BridgeAccess(JWTAuth auth, BridgeSettings settings) {
    this(auth, settings, dev.switchboard.security.AccessSettings.DEFAULT.legacyTokens());
  }

  public BridgeAccess(JWTAuth auth, BridgeSettings settings, boolean legacyTokens) {
    this.auth = auth;
    this.settings = settings;
    this.legacyTokens = legacyTokens;
  }

  /** The claims of {@code authorization} ("Bearer <JWT>"), or a 401 {@link Failure} saying why not. */
  public Future<JsonObject> verify(String authorization) {
    if (authorization == null || authorization.length() < 8 || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return Future.failedFuture(Failure.unauthorized("expected 'Bearer <token>'"));
    }
    return auth.authenticate(new TokenCredentials(authorization.substring(7).trim()))
        .map(user -> user.principal())
        .recover(e -> Future.failedFuture(Failure.unauthorized("invalid token: " + e.getMessage())));
  }

  /**
   * The claims a frame is sent with: its own {@code headers.authorization} when it has one (which
   * must be valid), else those the connection was authenticated with while they have not expired.
   */
  public Future<JsonObject> claims(JsonObject headers, JsonObject connection) {
    Object given = header(headers, "authorization");
    if (given != null) {
      return verify(given instanceof String s ? s : null);
    }
    if (connection == null) {
      return Future.failedFuture(Failure.unauthorized("no token: send headers.authorization 'Bearer <token>'"));
    }
    if (!current(connection)) {
      return Future.failedFuture(Failure.unauthorized("token expired or revoked"));
    }
    // the connection keeps its token's claims, not its verdict: a revocation since then counts
    if (revoked(connection)) {
      return Future.failedFuture(Failure.unauthorized("token revoked"));
    }
    return Future.succeededFuture(connection);
  }

  /** Whether the connection's token may still receive: not expired, not revoked. */
  public boolean current(JsonObject claims) {
    return claims != null && !(claims.getValue("exp") instanceof Number exp && exp.doubleValue() * 1000 < System.currentTimeMillis())
        && !revoked(claims);
  }

  private boolean revoked(JsonObject claims) {
    return claims.getValue("jti") instanceof String jti && dev.switchboard.security.Tokens.revoked(auth, jti);
  }

  /**
   * Whether the holder of {@code claims} may use {@code address} in {@code direction}: the address
   * must be configured for that direction, and the token's roles and scopes must open the route
   * family the address belongs to, exactly as on HTTP ({@link Principal}): tasks and their events
   * are {@code tasks}, chat is {@code chat}, a push is {@code deliveries}, and platform events are
   * read as {@code admin} reads (operators and admins). A token whose claims cannot be read is refused.
   */
  public boolean permits(JsonObject claims, String address, Direction direction) {
    List<String> configured = direction == Direction.INBOUND ? settings.inbound() : settings.outbound();
    if (claims == null || address == null || !configured.contains(address)) {
      return false;
    }
    Principal principal;
    try {
      principal = Principal.of(claims, legacyTokens);
    } catch (IllegalArgumentException malformed) {
      return false;
    }
    if (address.startsWith(PublicApi.TASKS_PREFIX)) {
      return principal.permits(RouteFamily.TASKS);
    }
    if (address.equals(PublicApi.CHAT)) {
      return principal.permits(RouteFamily.CHAT);
    }
    if (address.equals(PublicApi.PUSH)) {
      return principal.permits(RouteFamily.DELIVERIES);
    }
    return principal.permits(RouteFamily.ADMIN, io.vertx.core.http.HttpMethod.GET);
  }

  /**
   * The headers to forward a permitted frame with: the token taken out (it must not travel the
   * bus), a task id dropped, and the caller's subject and principal put in, replacing whatever the client said they were.
   */
  public static JsonObject forwarded(JsonObject headers, JsonObject claims) {
    JsonObject out = new JsonObject();
    if (headers != null) {
      headers.forEach(e -> {
        if (!e.getKey().equalsIgnoreCase("authorization") && !e.getKey().equalsIgnoreCase(SUBJECT_HEADER)
            && !e.getKey().equalsIgnoreCase(PRINCIPAL_HEADER)
            // only a task's own run carries its id: a client's would file its lines under another task
            && !e.getKey().equalsIgnoreCase(dev.switchboard.observe.RequestIds.TASK_HEADER)) {
          out.put(e.getKey(), e.getValue());
        }
      });
    }
    if (claims.getValue("sub") instanceof String sub) {
      out.put(SUBJECT_HEADER, sub);
    }
    JsonObject access = new JsonObject();
    for (String claim : List.of("sub", Principal.ROLES_CLAIM, Principal.SCOPE_CLAIM, Principal.MEMORY_SCOPES_CLAIM)) {
      if (claims.containsKey(claim)) {
        access.put(claim, claims.getValue(claim));
      }
    }
    out.put(PRINCIPAL_HEADER, access.encode());
    return out;
  }

  /**
   * The audit record of a refused frame, as the HTTP API records its 401s and 403s: without a valid
   * token an authentication failure (the token itself is not kept), with one a forbidden address
   * of its subject. {@code bridge}: tcp or sockjs; {@code client}: the peer's address, or null.
   */
  public static AuditEvent refusal(String bridge, String address, AsyncResult<JsonObject> verified, String client) {
    if (verified.failed()) {
      return AuditEvent.of("", "auth.failure", address, "refused").detail("bridge", bridge)
          .detail("reason", verified.cause().getMessage()).detail("client", client);
    }
    return AuditEvent.of(verified.result().getValue("sub") instanceof String sub ? sub : "", "auth.forbidden", address, "refused")
        .detail("bridge", bridge).detail("reason", "the address is not configured, or the token's roles and scopes do not open it");
  }

  /** Frame headers are JSON, so their names are case-sensitive there; on the bus they are not. */
  private static Object header(JsonObject headers, String name) {
    if (headers == null) {
      return null;
    }
    for (var e : headers) {
      if (e.getKey().equalsIgnoreCase(name)) {
        return e.getValue();
      }
    }
    return null;
  }
}
