package dev.switchboard.security;

import dev.switchboard.bus.Failure;
import io.vertx.core.Handler;
import io.vertx.ext.auth.authentication.TokenCredentials;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.web.RoutingContext;

/**
 * Requires {@code Authorization: Bearer <JWT>}. Unlike vertx-web's JWT handler it fails the
 * context with an OpenAI-shaped 401, which the official SDKs surface as an authentication error.
 * Signature, algorithm (HS256 only; {@code none} is refused), {@code crit}, {@code exp}, {@code nbf} and
 * {@code iat} are checked by the gateway's JWTAuth ({@link Tokens#auth}), whose {@link InvalidToken}
 * says why a token is refused.
 */
public final class BearerAuthHandler implements Handler<RoutingContext> {

  private static final String SUBJECT = "switchboard.subject";
  private final JWTAuth auth;

  public BearerAuthHandler(JWTAuth auth) {
    this.auth = auth;
  }

  public static String subject(RoutingContext ctx) {
    String s = ctx.get(SUBJECT);
    return s == null ? "" : s;
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
    if (known != null && known.expiresAt() > System.currentTimeMillis()) {
      ctx.put(SUBJECT, known.subject());
      then.handle(ctx);
      return;
    }
    auth.authenticate(new TokenCredentials(token)).onComplete(ar -> {
      if (ar.failed()) {
        verified.remove(token);
        ctx.fail(Failure.unauthorized("invalid token: " + reason(ar.cause())));
        return;
      }
      Object sub = ar.result().principal().getValue("sub");
      // a token without exp stays valid until the secret changes: kept until the cache is cleared
      Object exp = ar.result().principal().getValue("exp");
      long expiresAt = exp instanceof Number n ? (long) Math.min(Long.MAX_VALUE, n.doubleValue() * 1000) : Long.MAX_VALUE;
      remember(token, new Verified(sub instanceof String s ? s : "", expiresAt));
      ctx.put(SUBJECT, sub instanceof String s ? s : "");
      then.handle(ctx);
    });
  }

  /**
   * Tokens already verified, until they expire: clients send the same token with every request,
   * and checking an HMAC and parsing its JSON each time is most of what authentication costs.
   */
  private record Verified(String subject, long expiresAt) {
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
