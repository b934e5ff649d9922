package dev.switchboard.security;

import io.vertx.core.Future;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.User;
import io.vertx.ext.auth.authentication.Credentials;
import io.vertx.ext.auth.authentication.TokenCredentials;
import io.vertx.ext.auth.jwt.JWTAuth;
import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.interfaces.RSAPublicKey;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Verification of HS256, RS256 and ES256 tokens done here rather than by vertx-auth-jwt, whose
 * claim checks fail with a server error on a correctly signed token whose {@code exp} is a string
 * or null, report every time problem as "expired" and ignore {@code crit}. Signing stays with
 * vertx-auth-jwt, with the secret's key only.
 *
 * <p>Order: the header (algorithm, critical extensions, key), then the signature, then the claims,
 * so that a claim problem is only reported for a token one of our keys signed. A token with a
 * {@code kid} is verified with that key only, one without with the secret's; the header's
 * {@code alg} must be the key's own, so an RS256 public key (which is public) can never be used as
 * an HS256 secret, and {@code none} names no key at all. A token without {@code exp} is accepted
 * only by a key that allows it: the secret's does, since {@code token --ttl 0} makes them on purpose.
 *
 * <p>Each part must be base64url exactly as RFC 7515 writes it: no padding, no stray bits after
 * the last byte. A lenient decoder gives one token several spellings (a 43-character signature
 * has eight), all valid, and each a separate entry in {@link BearerAuthHandler}'s cache.
 */
public final class JwtVerifier implements JWTAuth {

  private static final SecureRandom RANDOM = new SecureRandom();

  private final JWTAuth signer;
  /** By kid; the secret's key, which has none, under null. */
  private final Map<String, JwtKey> keys = new HashMap<>();
  private final String issuer;
  private final String audience;
  private final long skewSeconds;
  private final Revocations revocations;

  JwtVerifier(JWTAuth signer, List<JwtKey> keys, TokenSettings settings, Revocations revocations) {
    this.signer = signer;
    keys.forEach(k -> this.keys.put(k.kid(), k));
    this.issuer = settings.issuer();
    this.audience = settings.audience();
    this.skewSeconds = settings.clockSkew().toSeconds();
    this.revocations = revocations;
  }

  Revocations revocations() {
    return revocations;
  }

  long skewSeconds() {
    return skewSeconds;
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

  /**
   * Every token minted gets a random {@code jti} (so that it can be revoked alone) and the
   * configured issuer and audience, unless the caller gave its own.
   */
  @Override
  public String generateToken(JsonObject claims, JWTOptions options) {
    JsonObject stamped = claims.copy();
    if (!stamped.containsKey("jti")) {
      byte[] id = new byte[16];
      RANDOM.nextBytes(id);
      stamped.put("jti", Base64.getUrlEncoder().withoutPadding().encodeToString(id));
    }
    if (!issuer.isEmpty() && options.getIssuer() == null && !stamped.containsKey("iss")) {
      options.setIssuer(issuer);
    }
    if (!audience.isEmpty() && (options.getAudience() == null || options.getAudience().isEmpty()) && !stamped.containsKey("aud")) {
      options.addAudience(audience);
    }
    return signer.generateToken(stamped, options);
  }

  @Override
  public String generateToken(JsonObject claims) {
    return generateToken(claims, new JWTOptions().setAlgorithm("HS256"));
  }

  /** The verified claims, or {@link InvalidToken} naming the first problem. */
  JsonObject verify(String token, double now) {
    Signed signed = signed(token);
    JsonObject claims = signed.claims();
    Double exp = numericDate(claims, "exp");
    Double nbf = numericDate(claims, "nbf");
    Double iat = numericDate(claims, "iat");
    if (exp == null && !signed.key().allowNoExp()) {
      throw new InvalidToken("token has no exp (its key requires one)");
    }
    if (exp != null && now - skewSeconds >= exp) {
      throw new InvalidToken("token expired");
    }
    if (nbf != null && nbf > now + skewSeconds) {
      throw new InvalidToken("token not valid yet (nbf in the future)");
    }
    if (iat != null && iat > now + skewSeconds) {
      throw new InvalidToken("token issued in the future");
    }
    if (!issuer.isEmpty() && !issuer.equals(claims.getValue("iss"))) {
      throw new InvalidToken(claims.containsKey("iss") ? "issuer (iss) not accepted" : "token has no iss (an issuer is required)");
    }
    if (!audience.isEmpty() && !forAudience(claims.getValue("aud"))) {
      throw new InvalidToken(claims.containsKey("aud") ? "audience (aud) not accepted" : "token has no aud (an audience is required)");
    }
    if (claims.containsKey("sub") && !(claims.getValue("sub") instanceof String)) {
      throw new InvalidToken("sub must be a string");
    }
    if (claims.containsKey("jti") && !(claims.getValue("jti") instanceof String)) {
      throw new InvalidToken("jti must be a string");
    }
    if (revocations.revoked(claims.getString("jti"))) {
      throw new InvalidToken("token revoked");
    }
    return claims;
  }

  /** A token's claims, and the key that verified its signature. */
  record Signed(JwtKey key, JsonObject claims) {
  }

  /**
   * The claims of a token one of our keys signed, whatever its times say: for revoking a token,
   * which may be done as long as it could still be accepted.
   */
  Signed signed(String token) {
    String[] parts = token.split("\\.", -1);
    if (parts.length != 3) {
      throw new InvalidToken("not a JWT (expected header.payload.signature)");
    }
    JsonObject header = json(parts[0], "header");
    Object alg = header.getValue("alg");
    if (alg instanceof String s && "none".equalsIgnoreCase(s)) {
      throw new InvalidToken("unsigned tokens (alg 'none') are not accepted");
    }
    if (!(alg instanceof String name) || !TokenSettings.ALGORITHMS.contains(name)) {
      throw new InvalidToken("algorithm " + (alg instanceof String s ? "'" + s + "'" : "missing") + " is not accepted (HS256, RS256 or ES256)");
    }
    // RFC 7515 §4.1.11: a recipient must refuse critical extensions it does not understand, and we understand none
    if (header.containsKey("crit")) {
      throw new InvalidToken("unsupported critical header");
    }
    Object kid = header.getValue("kid");
    if (kid != null && !(kid instanceof String)) {
      throw new InvalidToken("kid must be a string");
    }
    JwtKey key = keys.get((String) kid);
    if (key == null) {
      throw new InvalidToken(kid == null ? "token has no kid, and no key without one is configured"
          : "key id (kid) not known here (a retired key?)");
    }
    if (!key.alg().equals(name)) {
      throw new InvalidToken("algorithm '" + name + "' is not the one of " + (kid == null ? "the key for tokens without kid" : "this kid")
          + " (" + key.alg() + ")");
    }
    byte[] signature = base64url(parts[2], "signature");
    if (!valid(key, (parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII), signature)) {
      throw new InvalidToken("signature not accepted");
    }
    return new Signed(key, json(parts[1], "payload"));
  }

  private boolean forAudience(Object aud) {
    if (aud instanceof String s) {
      return audience.equals(s);
    }
    return aud instanceof JsonArray list && list.contains(audience);
  }

  private static boolean valid(JwtKey key, byte[] input, byte[] signature) {
    try {
      switch (key.alg()) {
        case "HS256" -> {
          Mac mac = Mac.getInstance("HmacSHA256");
          mac.init(new SecretKeySpec(key.secret(), "HmacSHA256"));
          return MessageDigest.isEqual(mac.doFinal(input), signature);
        }
        case "RS256" -> {
          // RFC 7518 §3.3: the signature is exactly as long as the modulus
          if (signature.length != (((RSAPublicKey) key.publicKey()).getModulus().bitLength() + 7) / 8) {
            return false;
          }
          Signature rsa = Signature.getInstance("SHA256withRSA");
          rsa.initVerify(key.publicKey());
          rsa.update(input);
          return rsa.verify(signature);
        }
        default -> {
          byte[] der = der(signature);
          if (der == null) {
            return false;
          }
          Signature ec = Signature.getInstance("SHA256withECDSA");
          ec.initVerify(key.publicKey());
          ec.update(input);
          return ec.verify(der);
        }
      }
    } catch (java.security.SignatureException malformed) {
      return false;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(key.alg() + " is not available in this JVM", e);
    }
  }

  /**
   * A JOSE ES256 signature (RFC 7518 §3.4: R and S, 32 bytes each, big-endian) as the DER
   * SEQUENCE of two INTEGERs that Java's ECDSA reads; null if it is not 64 bytes.
   */
  static byte[] der(byte[] jose) {
    if (jose.length != 64) {
      return null;
    }
    byte[] r = new BigInteger(1, Arrays.copyOfRange(jose, 0, 32)).toByteArray();
    byte[] s = new BigInteger(1, Arrays.copyOfRange(jose, 32, 64)).toByteArray();
    ByteArrayOutputStream out = new ByteArrayOutputStream(72);
    out.write(0x30);
    out.write(2 + r.length + 2 + s.length);
    out.write(0x02);
    out.write(r.length);
    out.write(r, 0, r.length);
    out.write(0x02);
    out.write(s.length);
    out.write(s, 0, s.length);
    return out.toByteArray();
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
}
