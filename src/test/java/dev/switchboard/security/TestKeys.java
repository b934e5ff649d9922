package dev.switchboard.security;

import dev.switchboard.config.ConfigFiles;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Keys made with java.security, written as the files an operator would give (PEM, JWKS), and tokens
 * signed by hand with them: nothing here goes through the gateway's own signer or verifier, so a
 * verifier that accepts too much is caught.
 */
final class TestKeys {

  static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();

  private TestKeys() {
  }

  static KeyPair rsa() {
    return generate("RSA", null);
  }

  static KeyPair ec() {
    return generate("EC", "secp256r1");
  }

  static KeyPair generateRsa(int bits) {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
      g.initialize(bits);
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  static KeyPair generate(String algorithm, String curve) {
    if (curve == null) {
      return generateRsa(2048);
    }
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance(algorithm);
      g.initialize(new ECGenParameterSpec(curve));
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  static String pem(String label, byte[] der) {
    return "-----BEGIN " + label + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
        + "\n-----END " + label + "-----\n";
  }

  static String publicPem(KeyPair pair) {
    return pem("PUBLIC KEY", pair.getPublic().getEncoded());
  }

  /** A JWK of the public half, as identity providers publish them. */
  static JsonObject jwk(String kid, KeyPair pair) {
    if (pair.getPublic() instanceof RSAPublicKey rsa) {
      return new JsonObject().put("kty", "RSA").put("kid", kid).put("use", "sig").put("alg", "RS256")
          .put("n", B64.encodeToString(unsigned(rsa.getModulus()))).put("e", B64.encodeToString(unsigned(rsa.getPublicExponent())));
    }
    ECPublicKey ec = (ECPublicKey) pair.getPublic();
    return new JsonObject().put("kty", "EC").put("kid", kid).put("crv", "P-256")
        .put("x", B64.encodeToString(fixed(ec.getW().getAffineX(), 32))).put("y", B64.encodeToString(fixed(ec.getW().getAffineY(), 32)));
  }

  static String jwks(JsonObject... keys) {
    return new JsonObject().put("keys", new JsonArray(Arrays.asList((Object[]) keys))).encodePrettily();
  }

  private static byte[] unsigned(BigInteger n) {
    byte[] b = n.toByteArray();
    return b[0] == 0 ? Arrays.copyOfRange(b, 1, b.length) : b;
  }

  private static byte[] fixed(BigInteger n, int length) {
    byte[] b = unsigned(n);
    byte[] out = new byte[length];
    System.arraycopy(b, 0, out, length - b.length, b.length);
    return out;
  }

  static String header(String alg, String kid) {
    JsonObject h = new JsonObject().put("alg", alg).put("typ", "JWT");
    if (kid != null) {
      h.put("kid", kid);
    }
    return h.encode();
  }

  static String input(String headerJson, JsonObject claims) {
    return B64.encodeToString(headerJson.getBytes(StandardCharsets.UTF_8)) + "." + B64.encodeToString(claims.encode().getBytes(StandardCharsets.UTF_8));
  }

  static String hs256(String headerJson, JsonObject claims, byte[] key) {
    String input = input(headerJson, claims);
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return input + "." + B64.encodeToString(mac.doFinal(input.getBytes(StandardCharsets.US_ASCII)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  static String hs256(String kid, JsonObject claims, String secret) {
    return hs256(header("HS256", kid), claims, secret.getBytes(StandardCharsets.UTF_8));
  }

  static String rs256(String kid, JsonObject claims, PrivateKey key) {
    String input = input(header("RS256", kid), claims);
    return input + "." + B64.encodeToString(sign("SHA256withRSA", key, input));
  }

  /** ES256 as JOSE writes it: R and S, 32 bytes each (RFC 7518 §3.4), not Java's DER. */
  static String es256(String kid, JsonObject claims, PrivateKey key) {
    String input = input(header("ES256", kid), claims);
    return input + "." + B64.encodeToString(jose(sign("SHA256withECDSA", key, input)));
  }

  /** ES256 with the DER signature Java makes, which JOSE does not allow. */
  static String es256Der(String kid, JsonObject claims, PrivateKey key) {
    String input = input(header("ES256", kid), claims);
    return input + "." + B64.encodeToString(sign("SHA256withECDSA", key, input));
  }

  private static byte[] sign(String algorithm, PrivateKey key, String input) {
    try {
      Signature s = Signature.getInstance(algorithm);
      s.initSign(key);
      s.update(input.getBytes(StandardCharsets.US_ASCII));
      return s.sign();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** DER SEQUENCE { INTEGER r, INTEGER s } → r || s. */
  private static byte[] jose(byte[] der) {
    int offset = 2;
    int rLength = der[offset + 1];
    BigInteger r = new BigInteger(Arrays.copyOfRange(der, offset + 2, offset + 2 + rLength));
    offset += 2 + rLength;
    int sLength = der[offset + 1];
    BigInteger s = new BigInteger(Arrays.copyOfRange(der, offset + 2, offset + 2 + sLength));
    byte[] out = new byte[64];
    System.arraycopy(fixed(r, 32), 0, out, 0, 32);
    System.arraycopy(fixed(s, 32), 0, out, 32, 32);
    return out;
  }

  static long now() {
    return System.currentTimeMillis() / 1000;
  }

  /** Claims of a token valid for an hour. */
  static JsonObject claims() {
    return new JsonObject().put("sub", "alice").put("iat", now()).put("exp", now() + 3600).put("jti", "jti-" + System.nanoTime());
  }

  /** A conf folder with {@code security:} as given, and the named files next to it. */
  static Path conf(String securityYaml, Map<String, String> files) {
    try {
      Path dir = Files.createTempDirectory("sb-keys");
      dir.toFile().deleteOnExit();
      Files.writeString(dir.resolve("switchboard.yaml"), "security:\n" + securityYaml.indent(2));
      for (Map.Entry<String, String> f : files.entrySet()) {
        Files.writeString(dir.resolve(f.getKey()), f.getValue());
        dir.resolve(f.getKey()).toFile().deleteOnExit();
      }
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** {@code security:} of that folder's switchboard.yaml, read as the gateway reads it. */
  static TokenSettings settings(Path conf, Map<String, String> env) {
    return TokenSettings.from(new ConfigFiles(conf, env::get).load("switchboard.yaml", true).get("security"), conf);
  }

  static TokenSettings settings(String securityYaml, Map<String, String> files) {
    return settings(conf(securityYaml, files), Map.of());
  }
}
