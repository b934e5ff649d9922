package dev.switchboard.security;

import dev.switchboard.config.ConfigNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * {@code security.jwt_keys}, {@code issuer}, {@code audience} and {@code clock_skew} of
 * switchboard.yaml: the keys tokens are verified with besides {@code jwt_secret} (which stays the
 * key without a {@code kid} that signs what the {@code token} command mints), and the claims every
 * token must carry. Key files are read here, relative to the configuration folder.
 *
 * @param keys the configured keys, each with its kid (the secret's key is added by {@link Tokens#auth})
 * @param issuer when not empty, every token's {@code iss} must be it (and minted tokens carry it)
 * @param audience when not empty, every token's {@code aud} must name it (and minted tokens carry it)
 * @param clockSkew how far apart two clocks may be: allowed on exp, nbf and iat
 */
public record TokenSettings(List<JwtKey> keys, String issuer, String audience, Duration clockSkew) {

  static final Duration DEFAULT_SKEW = Duration.ofSeconds(5);
  static final Duration MAX_SKEW = Duration.ofMinutes(5);
  public static final TokenSettings DEFAULT = new TokenSettings(List.of(), "", "", DEFAULT_SKEW);
  static final Set<String> ALGORITHMS = Set.of("HS256", "RS256", "ES256");

  /** {@code security} of switchboard.yaml; {@code confDir} is where relative key file paths start. */
  public static TokenSettings from(ConfigNode security, Path confDir) {
    Duration skew = security.get("clock_skew").duration(DEFAULT_SKEW);
    if (skew.compareTo(MAX_SKEW) > 0) {
      throw security.get("clock_skew").error("must be at most 5m, got '" + security.get("clock_skew").string("") + "'");
    }
    List<JwtKey> keys = new ArrayList<>();
    Set<String> kids = new HashSet<>();
    for (ConfigNode item : security.get("jwt_keys").list()) {
      for (JwtKey key : key(item, confDir)) {
        if (!kids.add(key.kid())) {
          throw item.error("kid '" + key.kid() + "' is given twice: a token's kid must name one key");
        }
        keys.add(key);
      }
    }
    return new TokenSettings(List.copyOf(keys), security.get("issuer").string(""), security.get("audience").string(""), skew);
  }

  private static List<JwtKey> key(ConfigNode item, Path confDir) {
    item.allowOnly("kid", "alg", "secret", "pem", "jwks", "allow_no_exp");
    boolean allowNoExp = item.get("allow_no_exp").bool(false);
    List<String> sources = new ArrayList<>();
    for (String source : new String[] {"secret", "pem", "jwks"}) {
      if (!item.get(source).isMissing()) {
        sources.add(source);
      }
    }
    if (sources.size() != 1) {
      throw item.error("needs exactly one of secret (HS256), pem (RS256/ES256 public key or certificate) or jwks (a JWKS file)"
          + (sources.isEmpty() ? "" : ", got " + String.join(" and ", sources)));
    }
    if (sources.contains("jwks")) {
      for (String own : new String[] {"kid", "alg"}) {
        if (!item.get(own).isMissing()) {
          throw item.get(own).error("comes from each key of the JWKS file: leave it out here");
        }
      }
      String path = item.get("jwks").requiredString();
      return KeyFiles.jwks(item.get("jwks"), confDir.resolve(path), allowNoExp);
    }
    String kid = item.get("kid").string("");
    if (kid.isEmpty()) {
      throw item.get("kid").error("is required: tokens name the key that signed them by kid (rotation)");
    }
    String alg = item.get("alg").string("");
    if (!ALGORITHMS.contains(alg)) {
      throw item.get("alg").error(alg.isEmpty() ? "is required (HS256, RS256 or ES256)" : "must be HS256, RS256 or ES256, got '" + alg + "'");
    }
    String origin = item.path() + " (kid '" + kid + "')";
    if ("HS256".equals(alg)) {
      if (!sources.contains("secret")) {
        throw item.get("pem").error("HS256 is verified with a shared secret: give secret, e.g. \"${MY_KEY}\"");
      }
      String secret = item.get("secret").string("");
      if (secret.getBytes(StandardCharsets.UTF_8).length < JwtSecret.MIN_LENGTH) {
        throw item.get("secret").error("must be at least " + JwtSecret.MIN_LENGTH + " bytes for HS256");
      }
      return List.of(JwtKey.hs256(kid, secret.getBytes(StandardCharsets.UTF_8), allowNoExp, origin));
    }
    if (!sources.contains("pem")) {
      throw item.get("secret").error(alg + " is verified with a public key: give pem (a PEM public key or certificate) or jwks");
    }
    String path = item.get("pem").requiredString();
    return List.of(JwtKey.pub(kid, alg, KeyFiles.pem(item.get("pem"), confDir.resolve(path), alg), allowNoExp, origin));
  }
}
