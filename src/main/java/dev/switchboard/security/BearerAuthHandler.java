package dev.switchboard.security;

import dev.switchboard.bus.Failure;
import io.vertx.core.Handler;
import io.vertx.ext.auth.authentication.TokenCredentials;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.web.RoutingContext;

/**
 * Requires {@code Authorization: Bearer <JWT>}. Unlike vertx-web's JWT handler it fails the
 * context with an OpenAI-shaped 401, which the official SDKs surface as an authentication error.
 * Signature, algorithm (HS256 only; {@code none} is refused) and {@code exp} are checked by JWTAuth.
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
    String header = ctx.request().getHeader("Authorization");
    if (header == null || header.isBlank()) {
      ctx.fail(Failure.unauthorized("missing Authorization header: send 'Authorization: Bearer <token>' "
          + "(mint one with: java -jar switchboard.jar token --sub <name>)"));
      return;
    }
    if (header.length() < 8 || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      ctx.fail(Failure.unauthorized("Authorization header must be 'Bearer <token>'"));
      return;
    }
    String token = header.substring(7).trim();
    auth.authenticate(new TokenCredentials(token)).onComplete(ar -> {
      if (ar.failed()) {
        ctx.fail(Failure.unauthorized("invalid token: " + reason(ar.cause())));
        return;
      }
      String sub = ar.result().principal().getString("sub");
      ctx.put(SUBJECT, sub == null ? "" : sub);
      ctx.next();
    });
  }

  private static String reason(Throwable t) {
    String m = t.getMessage() == null ? "" : t.getMessage().toLowerCase();
    if (m.contains("expired")) {
      return "token expired";
    }
    return "signature or format not accepted";
  }
}
