package dev.switchboard.security;

import dev.switchboard.bus.Failure;
import io.vertx.core.Handler;
import io.vertx.ext.auth.authentication.TokenCredentials;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.web.RoutingContext;
import java.util.List;
import java.util.Set;

/**
 * Requires {@code Authorization: Bearer <JWT>}. Unlike vertx-web's JWT handler it fails the
 * context with an OpenAI-shaped 401, which the official SDKs surface as an authentication error.
 * Signature, algorithm (the key's own; {@code none} is refused), {@code crit}, {@code exp}, {@code nbf},
 * {@code iat}, issuer, audience and revocation are checked by the gateway's JWTAuth ({@link Tokens#auth}),
 * whose {@link InvalidToken} says why a token is refused; a cached token is refused once it is revoked.
 * The verified claims become the request's {@link Principal}, which
 * {@link RouteAccess} checks against the route's family before the request goes on.
 */
public final class BearerAuthHandler implements Handler<RoutingContext> {

  private static final String PRINCIPAL = "switchboard.principal";
  /** A request that no token was verified for may do nothing. */
  private static final Principal NOBODY = new Principal("", Set.of(), Set.of(), List.of(), false);
  private final JWTAuth auth;
  private final boolean legacyTokens;

  public BearerAuthHandler(JWTAuth auth) {
    this(auth, AccessSettings.DEFAULT.legacyTokens());
  }

  public BearerAuthHandler(JWTAuth auth, boolean legacyTokens) {
    this.auth = auth;
    this.legacyTokens = legacyTokens;
  }

  public static String subject(RoutingContext ctx) {
    return principal(ctx).subject();
  }

  /** The verified token's principal; one that may do nothing on a route without this handler. */
  public static Principal principal(RoutingContext ctx) {
    Principal p = ctx.get(PRINCIPAL);
    return p == null ? NOBODY : p;
  }

  @Override
  public void handle(RoutingContext ctx) {
    authenticate(ctx, RoutingContext::next);
  }

  /**
   * This check, then {@code then} (which moves the request on itself) for an authenticated
   * request: a handler that needs the subject (the rate limits) without a line on every route.
   */
  public Handler<RoutingContext> andThen(Handler<RoutingContext> then) {
    return ctx -> authenticate(ctx, then);
  }

  private void authenticate(RoutingContext ctx, Handler<RoutingContext> then) {
    String header = ctx.request().getHeader("Authorization");
    if (header == null || header.isBlank()) {
      ctx.fail(Failure.unauthorized("missing Authorization header: send 'Authorization: Bearer <token>' "
          + "(mint one with: " + Tokens.mintCommand() + ")"));
      return;
    }
    if (header.length() < 8 || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      ctx.fail(Failure.unauthorized("Authorization header must be 'Bearer <token>'"));
      return;
    }
    String token = header.substring(7).trim();
    Verified known = verified.get(token);
    if (known != null && known.expiresAt() > System.currentTimeMillis() && !Tokens.revoked(auth, known.jti())) {
      ctx.put(PRINCIPAL, known.principal());
      RouteAccess.admit(ctx, known.principal(), then);
      return;
    }
    auth.authenticate(new TokenCredentials(token)).onComplete(ar -> {
      if (ar.failed()) {
        verified.remove(token);
        ctx.fail(Failure.unauthorized("invalid token: " + reason(ar.cause())));
        return;
      }
      Principal principal;
      try {
        principal = Principal.of(ar.result().principal(), legacyTokens);
      } catch (IllegalArgumentException e) {
        ctx.fail(Failure.unauthorized("invalid token: " + e.getMessage()));
        return;
      }
      // a token without exp stays valid until the secret changes: kept until the cache is cleared
      Object exp = ar.result().principal().getValue("exp");
      long expiresAt = exp instanceof Number n ? (long) Math.min(Long.MAX_VALUE, n.doubleValue() * 1000) : Long.MAX_VALUE;
      remember(token, new Verified(principal, expiresAt, ar.result().principal().getString("jti")));
      ctx.put(PRINCIPAL, principal);
      RouteAccess.admit(ctx, principal, then);
    });
  }

  /**
   * Tokens already verified, until they expire: clients send the same token with every request,
   * and checking an HMAC and parsing its JSON each time is most of what authentication costs.
   */
  private record Verified(Principal principal, long expiresAt, String jti) {
  }

  private static final int REMEMBERED = 10_000;
  private final java.util.Map<String, Verified> verified = new java.util.concurrent.ConcurrentHashMap<>();

  private void remember(String token, Verified v) {
    if (verified.size() >= REMEMBERED) {
      verified.clear();
    }
    verified.put(token, v);
  }

  private static String reason(Throwable t) {
    if (t instanceof InvalidToken) {
      return t.getMessage();
    }
    // another JWTAuth (not the gateway's own): its messages are not meant for clients
    String m = t.getMessage() == null ? "" : t.getMessage().toLowerCase();
    if (m.contains("expired")) {
      return "token expired";
    }
    return "signature or format not accepted";
  }
}
