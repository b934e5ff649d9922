package dev.switchboard.security;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.PubSecKeyOptions;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.auth.jwt.JWTAuthOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Function;

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

  /** A token for {@code subject}; a zero ttl makes one without expiry (accepted until the secret changes). */
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
