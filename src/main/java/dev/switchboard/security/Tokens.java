package dev.switchboard.security;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.PubSecKeyOptions;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.auth.jwt.JWTAuthOptions;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.time.Duration;
import java.util.function.Function;

/** The gateway's tokens: the verifier it uses and the signer behind the {@code token} command. */
public final class Tokens {

  private Tokens() {
  }

  /** {@link #auth(Vertx, JwtSecret, TokenSettings)} with the secret's key only, and no issuer or audience. */
  public static JwtVerifier auth(Vertx vertx, JwtSecret secret) {
    return auth(vertx, secret, TokenSettings.DEFAULT);
  }

  /**
   * The gateway's tokens: signed by vertx-auth-jwt with the secret (the key without kid, which
   * accepts tokens without exp, as {@code token --ttl 0} makes them), verified by
   * {@link JwtVerifier} with that key and those of {@code security.jwt_keys}; its failures are
   * {@link InvalidToken}s with a reason a client can act on.
   */
  public static JwtVerifier auth(Vertx vertx, JwtSecret secret, TokenSettings settings) {
    int skew = (int) settings.clockSkew().toSeconds();
    JWTAuth signer = JWTAuth.create(vertx, new JWTAuthOptions()
        .addPubSecKey(new PubSecKeyOptions().setAlgorithm("HS256").setBuffer(secret.value()))
        .setJWTOptions(new JWTOptions().setAlgorithm("HS256").setLeeway(skew)));
    List<JwtKey> keys = new ArrayList<>(settings.keys());
    keys.add(JwtKey.hs256(null, secret.value().getBytes(StandardCharsets.UTF_8), true, "security.jwt_secret"));
    return new JwtVerifier(signer, keys, settings, new Revocations());
  }

  /** Whether the token of {@code jti} has been revoked, as {@code auth} (the gateway's verifier) knows; cheap: a map look-up. */
  public static boolean revoked(JWTAuth auth, String jti) {
    return auth instanceof JwtVerifier v && v.revocations().revoked(jti);
  }

  /** The variable a secret given in the environment comes from; its value is never printed. */
  static final String SECRET_VARIABLE = "SWITCHBOARD_JWT_SECRET";
  private static volatile String hint;

  /**
   * The command line that mints a token this gateway accepts, for the 401 of a request without
   * one: {@link #mintCommand(Function, Path)} for this process's own environment (computed once).
   */
  public static String mintCommand() {
    String command = hint;
    if (command == null) {
      command = mintCommand(System::getenv, null);
      hint = command;
    }
    return command;
  }

  /**
   * The command line that mints a token which a gateway running with {@code env} and the data
   * folder {@code dataDir} (null: as {@code env} and the configuration say) accepts: the running
   * jar, led by {@code SWITCHBOARD_CONF_DIR} / {@code SWITCHBOARD_DATA_DIR} when the gateway has
   * them (see {@link SelfCommand#java(Function, Path)}), so that the token is signed with the
   * gateway's secret rather than one generated afresh in {@code ./data}. A secret itself is never
   * printed: when it comes from {@code SWITCHBOARD_JWT_SECRET}, the hint says to set it as for
   * the gateway.
   */
  public static String mintCommand(Function<String, String> env, Path dataDir) {
    String command = SelfCommand.java(env, dataDir) + " token --sub <name>";
    String secret = env.apply(SECRET_VARIABLE);
    return secret == null || secret.isEmpty() ? command : command + ", with " + SECRET_VARIABLE + " set as for the gateway";
  }

  /**
   * A token for {@code subject}, with a random jti (and the configured issuer and audience, see
   * {@link JwtVerifier#generateToken(JsonObject, JWTOptions)}); a zero ttl makes one without expiry
   * (accepted until the secret changes or it is revoked).
   */
  public static String issue(JWTAuth auth, String subject, Duration ttl) {
    return issue(auth, subject, ttl, new JsonObject());
  }

  /** The same, carrying {@code extraClaims} too (roles, scope, memory_scopes: see {@link TokenClaims}). */
  public static String issue(JWTAuth auth, String subject, Duration ttl, JsonObject extraClaims) {
    JWTOptions options = new JWTOptions().setAlgorithm("HS256").setSubject(subject);
    if (!ttl.isZero()) {
      options.setExpiresInSeconds((int) Math.min(Integer.MAX_VALUE, ttl.toSeconds()));
    }
    return auth.generateToken(extraClaims.copy(), options);
  }
}
