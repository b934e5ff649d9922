package dev.switchboard.security;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.PubSecKeyOptions;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.auth.jwt.JWTAuthOptions;
import java.time.Duration;

/** HS256 tokens: the verifier the gateway uses and the signer behind the {@code token} command. */
public final class Tokens {

  private Tokens() {
  }

  /** Clock skew allowed on exp, nbf and iat, in seconds. */
  static final int LEEWAY_SECONDS = 5;

  /**
   * The gateway's tokens: signed by vertx-auth-jwt, verified by {@link Hs256Auth} (whose failures
   * are {@link InvalidToken}s with a reason a client can act on).
   */
  public static JWTAuth auth(Vertx vertx, JwtSecret secret) {
    JWTAuth signer = JWTAuth.create(vertx, new JWTAuthOptions()
        .addPubSecKey(new PubSecKeyOptions().setAlgorithm("HS256").setBuffer(secret.value()))
        .setJWTOptions(new JWTOptions().setAlgorithm("HS256").setLeeway(LEEWAY_SECONDS)));
    return new Hs256Auth(signer, secret.value(), LEEWAY_SECONDS);
  }

  /** The command line that mints a token with the running jar, for banners and error messages. */
  public static String mintCommand() {
    return SelfCommand.java() + " token --sub <name>";
  }

  /** A token for {@code subject}; a zero ttl makes one without expiry (accepted until the secret changes). */
  public static String issue(JWTAuth auth, String subject, Duration ttl) {
    JWTOptions options = new JWTOptions().setAlgorithm("HS256").setSubject(subject);
    if (!ttl.isZero()) {
      options.setExpiresInSeconds((int) Math.min(Integer.MAX_VALUE, ttl.toSeconds()));
    }
    return auth.generateToken(new JsonObject(), options);
  }
}
