package dev.switchboard.security;

import io.vertx.core.Future;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.User;
import io.vertx.ext.auth.authentication.Credentials;
import io.vertx.ext.auth.authentication.TokenCredentials;
import io.vertx.ext.auth.jwt.JWTAuth;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * HS256 verification done here rather than by vertx-auth-jwt, whose claim checks fail with a
 * server error on a correctly signed token whose {@code exp} is a string or null, report every
 * time problem as "expired" and ignore {@code crit}. Signing stays with vertx-auth-jwt.
 *
 * <p>Order: the header (algorithm, critical extensions), then the signature, then the claims, so
 * that a claim problem is only reported for a token this gateway signed. A token without
 * {@code exp} is accepted: {@code token --ttl 0} makes them on purpose.
 *
 * <p>Each part must be base64url exactly as RFC 7515 writes it: no padding, no stray bits after
 * the last byte. A lenient decoder gives one token several spellings (a 43-character signature
 * has eight), all valid, and each a separate entry in {@link BearerAuthHandler}'s cache.
 */
final class Hs256Auth implements JWTAuth {

  private final JWTAuth signer;
  private final byte[] key;
  private final long leewaySeconds;

  Hs256Auth(JWTAuth signer, String secret, long leewaySeconds) {
    this.signer = signer;
    this.key = secret.getBytes(StandardCharsets.UTF_8);
    this.leewaySeconds = leewaySeconds;
  }

  @Override
  public Future<User> authenticate(Credentials credentials) {
    if (!(credentials instanceof TokenCredentials token) || token.getToken() == null) {
      return Future.failedFuture(new InvalidToken("expected a bearer token"));
    }
    try {
      return Future.succeededFuture(User.create(verify(token.getToken(), System.currentTimeMillis() / 1000.0)));
    } catch (InvalidToken e) {
      return Future.failedFuture(e);
    }
  }

  @Override
  public String generateToken(JsonObject claims, JWTOptions options) {
    return signer.generateToken(claims, options);
  }

  @Override
  public String generateToken(JsonObject claims) {
    return signer.generateToken(claims);
  }

  /** The verified claims, or {@link InvalidToken} naming the first problem. */
  JsonObject verify(String token, double now) {
    String[] parts = token.split("\\.", -1);
    if (parts.length != 3) {
      throw new InvalidToken("not a JWT (expected header.payload.signature)");
    }
    JsonObject header = json(parts[0], "header");
    Object alg = header.getValue("alg");
    if (!"HS256".equals(alg)) {
      throw new InvalidToken("algorithm " + (alg instanceof String s ? "'" + s + "'" : "missing") + " is not accepted (HS256 only)");
    }
    // RFC 7515 §4.1.11: a recipient must refuse critical extensions it does not understand, and we understand none
    if (header.containsKey("crit")) {
      throw new InvalidToken("unsupported critical header");
    }
    byte[] signature = base64url(parts[2], "signature");
    if (!MessageDigest.isEqual(hmac(parts[0] + "." + parts[1]), signature)) {
      throw new InvalidToken("signature not accepted");
    }
    JsonObject claims = json(parts[1], "payload");
    Double exp = numericDate(claims, "exp");
    Double nbf = numericDate(claims, "nbf");
    Double iat = numericDate(claims, "iat");
    if (exp != null && now - leewaySeconds >= exp) {
      throw new InvalidToken("token expired");
    }
    if (nbf != null && nbf > now + leewaySeconds) {
      throw new InvalidToken("token not valid yet (nbf in the future)");
    }
    if (iat != null && iat > now + leewaySeconds) {
      throw new InvalidToken("token issued in the future");
    }
    if (claims.containsKey("sub") && !(claims.getValue("sub") instanceof String)) {
      throw new InvalidToken("sub must be a string");
    }
    return claims;
  }

  private static JsonObject json(String part, String what) {
    byte[] bytes = base64url(part, what);
    Object value;
    try {
      value = io.vertx.core.buffer.Buffer.buffer(bytes).toJsonValue();
    } catch (DecodeException e) {
      throw new InvalidToken("not a JWT (" + what + " is not JSON)");
    }
    if (!(value instanceof JsonObject object)) {
      throw new InvalidToken("not a JWT (" + what + " is not a JSON object)");
    }
    return object;
  }

  /** {@code part} decoded, if it is canonical unpadded base64url (RFC 7515 §2), i.e. what encoding its bytes gives back. */
  private static byte[] base64url(String part, String what) {
    byte[] bytes;
    try {
      bytes = Base64.getUrlDecoder().decode(part);
    } catch (IllegalArgumentException e) {
      throw new InvalidToken("not a JWT (" + what + " is not base64url)");
    }
    if (!Base64.getUrlEncoder().withoutPadding().encodeToString(bytes).equals(part)) {
      throw new InvalidToken("not a JWT (" + what + " is not canonical base64url: no padding, no bits after the last byte)");
    }
    return bytes;
  }

  /** RFC 7519 NumericDate: seconds since the epoch, a JSON number; absent is fine, anything else is not. */
  private static Double numericDate(JsonObject claims, String name) {
    if (!claims.containsKey(name)) {
      return null;
    }
    if (!(claims.getValue(name) instanceof Number n)) {
      throw new InvalidToken(name + " must be a number (seconds since 1970)");
    }
    return n.doubleValue();
  }

  private byte[] hmac(String signingInput) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return mac.doFinal(signingInput.getBytes(StandardCharsets.US_ASCII));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is not available", e);
    }
  }
}
