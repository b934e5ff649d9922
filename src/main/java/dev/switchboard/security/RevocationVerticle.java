package dev.switchboard.security;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.Failure;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.Set;
import java.util.logging.Logger;

/**
 * Owns the revoked tokens: serves {@link Addresses#TOKENS_REVOKE}, and keeps the verifier's
 * in-memory {@link Revocations} current. In the distributed profile it reads the store again every
 * {@link #REFRESH_MS}, so a token revoked through another instance is refused here within that.
 */
public final class RevocationVerticle extends VerticleBase {

  private static final Logger LOG = Logger.getLogger(RevocationVerticle.class.getName());
  /** How often the distributed profile reads the revocations of the other instances. */
  static final long REFRESH_MS = 2_000;
  /** How often expired entries leave the in-memory set. */
  private static final long SWEEP_MS = 60_000;
  /** A jti is an identifier, not a document: bounded so that the store holds what it was meant to. */
  static final int MAX_JTI = 256;
  /** 9999-12-31T23:59:59Z: an exp beyond is a typo, and would overflow milliseconds. */
  private static final long MAX_EXP = 253_402_300_799L;

  /**
   * @param keyPrefix distributed profile: what the Redis keys start with
   */
  public record Options(String profile, Path dataDir, String redisUrl, String keyPrefix) {
  }

  private final JwtVerifier verifier;
  private final Options options;
  private RevokedTokens store;
  /** Whether the last refresh failed: an outage is logged when it starts and when it ends. */
  private boolean failing;

  public RevocationVerticle(JwtVerifier verifier, Options options) {
    this.verifier = verifier;
    this.options = options;
  }

  private boolean distributed() {
    return "distributed".equals(options.profile());
  }

  @Override
  public Future<?> start() {
    Future<RevokedTokens> opened = distributed()
        ? Future.succeededFuture(new RedisRevokedTokens(vertx, options.redisUrl(), options.keyPrefix()))
        : EmbeddedRevokedTokens.open(vertx, options.dataDir()).map(s -> (RevokedTokens) s);
    return opened
        .onSuccess(s -> store = s)
        .compose(s -> distributed()
            // a Redis that is not there yet must not stop the start: the refresh reads it once it answers
            ? refresh().recover(e -> Future.succeededFuture())
            : s.current().onSuccess(verifier.revocations()::addAll).mapEmpty())
        .compose(v -> {
          if (distributed()) {
            vertx.setPeriodic(REFRESH_MS, id -> refresh());
          }
          vertx.setPeriodic(SWEEP_MS, id -> verifier.revocations().sweep(System.currentTimeMillis()));
          return vertx.eventBus().<JsonObject>consumer(Addresses.TOKENS_REVOKE, this::revoke).completion();
        });
  }

  private Future<Void> refresh() {
    return store.current()
        .onSuccess(entries -> {
          verifier.revocations().addAll(entries);
          if (failing) {
            failing = false;
            LOG.info("token revocations: the store answers again");
          }
        })
        .onFailure(e -> {
          if (!failing) {
            failing = true;
            LOG.warning("token revocations: cannot read the store (" + e.getMessage()
                + "); tokens revoked through other instances are not known here until it answers");
          }
        })
        .mapEmpty();
  }

  @Override
  public Future<?> stop() {
    return store == null ? Future.succeededFuture() : store.close();
  }

  /** A revocation: what it names, until when, then stored before it is answered (and so before anyone is told 200). */
  private void revoke(Message<JsonObject> message) {
    Revocation r;
    try {
      r = revocation(message.body());
    } catch (RuntimeException e) {
      Failure.reply(message, e);
      return;
    }
    JsonObject answer = new JsonObject().put("jti", r.jti()).put("revoked", true).put("exp", r.exp());
    // kept while the token could still pass: its exp plus the clock skew allowed on it
    long until = r.exp() == null ? Revocations.FOREVER : (r.exp() + verifier.skewSeconds()) * 1000;
    if (until <= System.currentTimeMillis()) {
      message.reply(answer);
      return;
    }
    store.revoke(r.jti(), until)
        .onSuccess(v -> {
          verifier.revocations().add(r.jti(), until);
          message.reply(answer);
        })
        .onFailure(e -> Failure.reply(message, e));
  }

  private record Revocation(String jti, Long exp) {
  }

  private Revocation revocation(JsonObject body) {
    if (body == null) {
      throw bad("send {\"jti\": \"...\", \"exp\": <epoch seconds, optional>} or {\"token\": \"<jwt>\"}");
    }
    for (String field : body.fieldNames()) {
      if (!Set.of("jti", "exp", "token").contains(field)) {
        throw bad("unknown field '" + field + "' (known: jti, exp, token)");
      }
    }
    if (body.containsKey("token")) {
      if (body.containsKey("jti") || body.containsKey("exp")) {
        throw bad("give either 'token' or 'jti' (with an optional 'exp'), not both: a token's own jti and exp are used");
      }
      if (!(body.getValue("token") instanceof String token) || token.isBlank()) {
        throw bad("'token' must be a JWT string");
      }
      JsonObject claims;
      try {
        claims = verifier.signed(token.trim()).claims();
      } catch (InvalidToken e) {
        throw bad("token not accepted: " + e.getMessage());
      }
      if (!(claims.getValue("jti") instanceof String jti) || jti.isEmpty()) {
        throw bad("the token has no jti, so it cannot be revoked alone: rotate its key instead");
      }
      Object exp = claims.getValue("exp");
      return new Revocation(jti(jti), exp instanceof Number n ? Math.min(MAX_EXP, (long) Math.ceil(n.doubleValue())) : null);
    }
    if (!(body.getValue("jti") instanceof String jti) || jti.isEmpty()) {
      throw bad("'jti' is required: the token's id, a string (or send {\"token\": \"<jwt>\"})");
    }
    Object exp = body.getValue("exp");
    if (exp != null && !(exp instanceof Number)) {
      throw bad("'exp' must be the token's expiry in seconds since 1970 (a number), or left out for a token without one");
    }
    if (exp != null && (((Number) exp).doubleValue() < 0 || ((Number) exp).doubleValue() > MAX_EXP)) {
      throw bad("'exp' must be between 0 and " + MAX_EXP + " (seconds since 1970)");
    }
    return new Revocation(jti(jti), exp == null ? null : (long) Math.ceil(((Number) exp).doubleValue()));
  }

  private static String jti(String jti) {
    if (jti.length() > MAX_JTI) {
      throw bad("'jti' is longer than " + MAX_JTI + " characters");
    }
    return jti;
  }

  private static Failure bad(String message) {
    return Failure.badRequest("invalid_revocation", message);
  }
}
