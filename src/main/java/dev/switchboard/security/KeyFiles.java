package dev.switchboard.security;

import dev.switchboard.config.ConfigNode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.cert.CertificateFactory;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The public keys of {@code security.jwt_keys}, read from PEM files (a public key or a
 * certificate) and JWKS files at start-up, so that a file that is missing, holds a private key,
 * or a key that does not fit its algorithm stops the gateway with one line naming the key.
 * Blocking file I/O: called while the settings load, before Vert.x starts.
 */
final class KeyFiles {

  private static final Pattern PEM = Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \\1-----", Pattern.DOTALL);
  /** Below this, RSA signatures are forgeable with enough money (NIST SP 800-131A). */
  static final int MIN_RSA_BITS = 2048;

  private KeyFiles() {
  }

  /** The RS256 or ES256 public key in the PEM file {@code path} ({@code PUBLIC KEY} or {@code CERTIFICATE}). */
  static PublicKey pem(ConfigNode node, Path path, String alg) {
    String text = new String(read(node, path), StandardCharsets.ISO_8859_1);
    Matcher m = PEM.matcher(text);
    while (m.find()) {
      String label = m.group(1);
      byte[] der;
      try {
        der = Base64.getMimeDecoder().decode(m.group(2).trim());
      } catch (IllegalArgumentException e) {
        throw node.error(path + ": the " + label + " block is not base64");
      }
      PublicKey key;
      try {
        key = switch (label) {
          case "PUBLIC KEY" -> spki(der);
          case "CERTIFICATE" -> CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(der)).getPublicKey();
          case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY" -> throw node.error(path
              + " holds a private key: give the public key (openssl pkey -in KEY -pubout); the gateway only verifies");
          case "RSA PUBLIC KEY" -> throw node.error(path + " holds a PKCS#1 RSA PUBLIC KEY: convert it to a PUBLIC KEY "
              + "(openssl rsa -RSAPublicKey_in -in FILE -pubout)");
          default -> null;
        };
      } catch (GeneralSecurityException e) {
        throw node.error(path + ": the " + label + " is not an RSA or EC public key (" + e.getMessage() + ")");
      }
      if (key != null) {
        return fits(node, path.toString(), key, alg);
      }
    }
    throw node.error(path + " holds no PEM PUBLIC KEY or CERTIFICATE");
  }

  /**
   * The keys of the JWKS file {@code path} ({@code {"keys": [...]}}), each with its own
   * {@code kid}, and {@code alg} from the key or else from its {@code kty} (RSA: RS256; EC P-256:
   * ES256). Keys marked {@code "use": "enc"} are for encryption, not signatures, and are skipped.
   */
  static List<JwtKey> jwks(ConfigNode node, Path path, boolean allowNoExp) {
    JsonObject set;
    try {
      set = new JsonObject(new String(read(node, path), StandardCharsets.UTF_8));
    } catch (RuntimeException e) {
      throw node.error(path + " is not a JSON object (a JWKS file: {\"keys\": [...]})");
    }
    if (!(set.getValue("keys") instanceof JsonArray keys)) {
      throw node.error(path + " has no \"keys\" list (a JWKS file: {\"keys\": [...]})");
    }
    List<JwtKey> out = new ArrayList<>();
    for (int i = 0; i < keys.size(); i++) {
      String where = path + ": keys[" + i + "]";
      if (!(keys.getValue(i) instanceof JsonObject jwk)) {
        throw node.error(where + " is not a JSON object");
      }
      if ("enc".equals(jwk.getValue("use"))) {
        continue;
      }
      if (!(jwk.getValue("kid") instanceof String kid) || kid.isBlank()) {
        throw node.error(where + " has no kid: tokens are matched to keys by kid");
      }
      Object kty = jwk.getValue("kty");
      String alg = jwk.getValue("alg") instanceof String a ? a : "RSA".equals(kty) ? "RS256" : "EC".equals(kty) ? "ES256" : null;
      if (!"RS256".equals(alg) && !"ES256".equals(alg)) {
        throw node.error(where + " (kid '" + kid + "'): " + (alg == null ? "kty " + kty : "alg '" + alg + "'")
            + " is not supported (RS256 with kty RSA, ES256 with kty EC)");
      }
      PublicKey key;
      try {
        key = "RS256".equals(alg) ? rsa(jwk) : ec(jwk);
      } catch (GeneralSecurityException | IllegalArgumentException | ClassCastException e) {
        throw node.error(where + " (kid '" + kid + "') is not a valid " + alg + " public key"
            + (e.getMessage() == null ? "" : " (" + e.getMessage() + ")"));
      }
      out.add(JwtKey.pub(kid, alg, fits(node, where + " (kid '" + kid + "')", key, alg), allowNoExp, where));
    }
    if (out.isEmpty()) {
      throw node.error(path + " holds no signing key");
    }
    return out;
  }

  private static PublicKey rsa(JsonObject jwk) throws GeneralSecurityException {
    if (!"RSA".equals(jwk.getValue("kty"))) {
      throw new IllegalArgumentException("alg RS256 needs kty RSA");
    }
    return KeyFactory.getInstance("RSA").generatePublic(new RSAPublicKeySpec(unsigned(jwk, "n"), unsigned(jwk, "e")));
  }

  private static PublicKey ec(JsonObject jwk) throws GeneralSecurityException {
    if (!"EC".equals(jwk.getValue("kty")) || !"P-256".equals(jwk.getValue("crv"))) {
      throw new IllegalArgumentException("alg ES256 needs kty EC and crv P-256");
    }
    return KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(new ECPoint(unsigned(jwk, "x"), unsigned(jwk, "y")), p256()));
  }

  private static BigInteger unsigned(JsonObject jwk, String member) {
    if (!(jwk.getValue(member) instanceof String s) || s.isEmpty()) {
      throw new IllegalArgumentException("'" + member + "' is missing");
    }
    try {
      return new BigInteger(1, Base64.getUrlDecoder().decode(s));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("'" + member + "' is not base64url");
    }
  }

  /** The key, if it is what {@code alg} verifies with: RSA of at least 2048 bits, or EC on P-256. */
  private static PublicKey fits(ConfigNode node, String where, PublicKey key, String alg) {
    if ("RS256".equals(alg)) {
      if (!(key instanceof RSAPublicKey rsa)) {
        throw node.error(where + " holds a key of type " + key.getAlgorithm() + ", not an RSA key (alg RS256)");
      }
      if (rsa.getModulus().bitLength() < MIN_RSA_BITS) {
        throw node.error(where + " holds a " + rsa.getModulus().bitLength() + "-bit RSA key: at least " + MIN_RSA_BITS + " bits");
      }
      return key;
    }
    if (!(key instanceof ECPublicKey ec) || !ec.getParams().getOrder().equals(p256().getOrder())) {
      throw node.error(where + " holds " + (key instanceof ECPublicKey ? "an EC key on another curve" : "a key of type " + key.getAlgorithm())
          + ", not an EC P-256 key (alg ES256)");
    }
    return key;
  }

  static ECParameterSpec p256() {
    try {
      AlgorithmParameters params = AlgorithmParameters.getInstance("EC");
      params.init(new ECGenParameterSpec("secp256r1"));
      return params.getParameterSpec(ECParameterSpec.class);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JVM has no EC P-256", e);
    }
  }

  /** A SubjectPublicKeyInfo of either family, so that {@link #fits} can say which one it is when it is the wrong one. */
  private static PublicKey spki(byte[] der) throws GeneralSecurityException {
    try {
      return KeyFactory.getInstance("RSA").generatePublic(new X509EncodedKeySpec(der));
    } catch (GeneralSecurityException notRsa) {
      return KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(der));
    }
  }

  private static byte[] read(ConfigNode node, Path path) {
    try {
      return Files.readAllBytes(path);
    } catch (NoSuchFileException e) {
      throw node.error("cannot read " + path + ": no such file");
    } catch (AccessDeniedException e) {
      throw node.error("cannot read " + path + ": permission denied");
    } catch (IOException e) {
      throw node.error("cannot read " + path + ": " + e.getMessage());
    }
  }
}
