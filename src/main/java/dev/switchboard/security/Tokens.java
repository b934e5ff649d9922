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

  public static JWTAuth auth(Vertx vertx, JwtSecret secret) {
    return JWTAuth.create(vertx, new JWTAuthOptions()
        .addPubSecKey(new PubSecKeyOptions().setAlgorithm("HS256").setBuffer(secret.value()))
        .setJWTOptions(new JWTOptions().setAlgorithm("HS256").setLeeway(5)));
  }

  /** A token for {@code subject}; a zero ttl makes one without expiry. */
  public static String issue(JWTAuth auth, String subject, Duration ttl) {
    JWTOptions options = new JWTOptions().setAlgorithm("HS256").setSubject(subject);
    if (!ttl.isZero()) {
      options.setExpiresInSeconds((int) Math.min(Integer.MAX_VALUE, ttl.toSeconds()));
    }
    return auth.generateToken(new JsonObject(), options);
  }
}
