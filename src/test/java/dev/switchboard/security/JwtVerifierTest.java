package dev.switchboard.security;

import static dev.switchboard.security.TestKeys.claims;
import static dev.switchboard.security.TestKeys.now;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The gateway's verifier with the keys of {@code security.jwt_keys}: which key a token is checked
 * with, and every reason it is refused. Tokens are signed by hand ({@link TestKeys}).
 */
@DisplayName("JWT keys, rotation and claims")
class JwtVerifierTest {

  static final String SECRET = "the-gateway-secret-0123456789abcdef";
  static final String K1 = "first-hs256-key-0123456789abcdef0123";
  static final String K2 = "second-hs256-key-0123456789abcdef012";
  static final KeyPair RSA = TestKeys.rsa();
  static final KeyPair EC = TestKeys.ec();
  static Vertx vertx;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stop() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  static JwtVerifier verifier(String securityYaml, Map<String, String> files) {
    return Tokens.auth(vertx, new JwtSecret(SECRET, "test"), TestKeys.settings(securityYaml, files));
  }

  static JwtVerifier verifier(String securityYaml) {
    return verifier(securityYaml, Map.of());
  }

  static final String TWO_HS256 = """
      jwt_keys:
        - { kid: k1, alg: HS256, secret: "%s" }
        - { kid: k2, alg: HS256, secret: "%s" }
      """.formatted(K1, K2);

  static final String RS256_PEM = """
      jwt_keys:
        - { kid: rsa, alg: RS256, pem: rsa.pem }
      """;

  static JsonObject accepted(JwtVerifier v, String token) {
    return v.verify(token, System.currentTimeMillis() / 1000.0);
  }

  static String refused(JwtVerifier v, String token) {
    return assertThrows(InvalidToken.class, () -> accepted(v, token)).getMessage();
  }

  @Test
  @DisplayName("two HS256 keys: a token is verified with the key its kid names")
  void twoKeysByKid() {
    JwtVerifier v = verifier(TWO_HS256);
    assertEquals("alice", accepted(v, TestKeys.hs256("k1", claims(), K1)).getString("sub"));
    assertEquals("alice", accepted(v, TestKeys.hs256("k2", claims(), K2)).getString("sub"));
    // k1's secret does not sign for k2
    assertEquals("signature not accepted", refused(v, TestKeys.hs256("k2", claims(), K1)));
  }

  @Test
  @DisplayName("rotation: once the old kid is removed from jwt_keys, its tokens are refused and the new key's still pass")
  void rotatedKeyRemoved() {
    String old = TestKeys.hs256("k1", claims(), K1);
    String current = TestKeys.hs256("k2", claims(), K2);
    JwtVerifier rotated = verifier("""
        jwt_keys:
          - { kid: k2, alg: HS256, secret: "%s" }
        """.formatted(K2));
    assertEquals("key id (kid) not known here (a retired key?)", refused(rotated, old));
    accepted(rotated, current);
  }

  @Test
  @DisplayName("a token without kid is verified with jwt_secret only, not with the kid keys")
  void noKidMeansTheSecret() {
    JwtVerifier v = verifier(TWO_HS256);
    accepted(v, TestKeys.hs256((String) null, claims(), SECRET));
    assertEquals("signature not accepted", refused(v, TestKeys.hs256((String) null, claims(), K1)));
  }

  @Test
  @DisplayName("the HS256 secret of a kid key can come from the environment")
  void secretFromEnvironment() {
    TokenSettings settings = TestKeys.settings(TestKeys.conf("""
        jwt_keys:
          - { kid: env, alg: HS256, secret: "${PARTNER_KEY}" }
        """, Map.of()), Map.of("PARTNER_KEY", K1));
    JwtVerifier v = Tokens.auth(vertx, new JwtSecret(SECRET, "test"), settings);
    accepted(v, TestKeys.hs256("env", claims(), K1));
  }

  @Test
  @DisplayName("RS256 with a key from a JWKS file")
  void rs256FromJwks() {
    JwtVerifier v = verifier("jwt_keys:\n  - { jwks: keys.json }\n", Map.of("keys.json", TestKeys.jwks(TestKeys.jwk("idp-1", RSA))));
    assertEquals("alice", accepted(v, TestKeys.rs256("idp-1", claims(), RSA.getPrivate())).getString("sub"));
    assertEquals("signature not accepted", refused(v, TestKeys.rs256("idp-1", claims(), TestKeys.rsa().getPrivate())));
  }

  @Test
  @DisplayName("ES256 with a key from a JWKS file, kid and alg taken from each key (alg from kty EC when absent)")
  void es256FromJwks() {
    JwtVerifier v = verifier("jwt_keys:\n  - { jwks: keys.json }\n",
        Map.of("keys.json", TestKeys.jwks(TestKeys.jwk("rsa-1", RSA), TestKeys.jwk("ec-1", EC))));
    accepted(v, TestKeys.es256("ec-1", claims(), EC.getPrivate()));
    accepted(v, TestKeys.rs256("rsa-1", claims(), RSA.getPrivate()));
  }

  @Test
  @DisplayName("RS256 with a PEM public key")
  void rs256FromPem() {
    JwtVerifier v = verifier(RS256_PEM, Map.of("rsa.pem", TestKeys.publicPem(RSA)));
    accepted(v, TestKeys.rs256("rsa", claims(), RSA.getPrivate()));
  }

  @Test
  @DisplayName("ES256 with a PEM public key; the signature is JOSE's R || S")
  void es256FromPem() {
    JwtVerifier v = verifier("jwt_keys:\n  - { kid: ec, alg: ES256, pem: ec.pem }\n", Map.of("ec.pem", TestKeys.publicPem(EC)));
    assertEquals("alice", accepted(v, TestKeys.es256("ec", claims(), EC.getPrivate())).getString("sub"));
    assertEquals("signature not accepted", refused(v, TestKeys.es256("ec", claims(), TestKeys.ec().getPrivate())));
  }

  @Test
  @DisplayName("RS256 with the key of a PEM certificate (src/test/resources/tls)")
  void rs256FromCertificate() throws Exception {
    String cert = java.nio.file.Files.readString(java.nio.file.Path.of("src/test/resources/tls/rsa-cert.pem"));
    String pkcs8 = java.nio.file.Files.readString(java.nio.file.Path.of("src/test/resources/tls/rsa-key-pkcs8.pem"));
    java.security.PrivateKey key = java.security.KeyFactory.getInstance("RSA").generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(
        Base64.getMimeDecoder().decode(pkcs8.replaceAll("-----[A-Z ]+-----", "").trim())));
    JwtVerifier v = verifier("jwt_keys:\n  - { kid: cert, alg: RS256, pem: cert.pem }\n", Map.of("cert.pem", cert));
    accepted(v, TestKeys.rs256("cert", claims(), key));
  }

  @Test
  @DisplayName("an ES256 signature in DER form (Java's, not JOSE's) is refused")
  void es256DerRefused() {
    JwtVerifier v = verifier("jwt_keys:\n  - { kid: ec, alg: ES256, pem: ec.pem }\n", Map.of("ec.pem", TestKeys.publicPem(EC)));
    assertEquals("signature not accepted", refused(v, TestKeys.es256Der("ec", claims(), EC.getPrivate())));
  }

  @Test
  @DisplayName("alg none is refused, with or without a kid")
  void algNone() {
    JwtVerifier v = verifier(RS256_PEM, Map.of("rsa.pem", TestKeys.publicPem(RSA)));
    String unsigned = TestKeys.input(TestKeys.header("none", null), claims()) + ".";
    assertEquals("unsigned tokens (alg 'none') are not accepted", refused(v, unsigned));
    assertEquals("unsigned tokens (alg 'none') are not accepted", refused(v, TestKeys.input(TestKeys.header("None", "rsa"), claims()) + "."));
  }

  @Test
  @DisplayName("algorithm confusion: HS256 'signed' with an RS256 key's public key is refused for that kid")
  void hs256WithRsaPublicKey() {
    String pem = TestKeys.publicPem(RSA);
    JwtVerifier v = verifier(RS256_PEM, Map.of("rsa.pem", pem));
    String expected = "algorithm 'HS256' is not the one of this kid (RS256)";
    assertEquals(expected, refused(v, TestKeys.hs256(TestKeys.header("HS256", "rsa"), claims(), pem.getBytes(StandardCharsets.US_ASCII))));
    assertEquals(expected, refused(v, TestKeys.hs256(TestKeys.header("HS256", "rsa"), claims(), RSA.getPublic().getEncoded())));
  }

  @Test
  @DisplayName("algorithm confusion the other way: an RS256 token without kid is not checked against the HS256 secret")
  void rs256WithoutKid() {
    JwtVerifier v = verifier(RS256_PEM, Map.of("rsa.pem", TestKeys.publicPem(RSA)));
    assertEquals("algorithm 'RS256' is not the one of the key for tokens without kid (HS256)",
        refused(v, TestKeys.rs256(null, claims(), RSA.getPrivate())));
  }

  @Test
  @DisplayName("an algorithm the gateway does not know (RS512) is refused")
  void unknownAlgorithm() {
    JwtVerifier v = verifier(RS256_PEM, Map.of("rsa.pem", TestKeys.publicPem(RSA)));
    String token = TestKeys.input(TestKeys.header("RS512", "rsa"), claims()) + ".c2ln";
    assertEquals("algorithm 'RS512' is not accepted (HS256, RS256 or ES256)", refused(v, token));
  }

  @Test
  @DisplayName("an expired RS256 token is refused")
  void expired() {
    JwtVerifier v = verifier(RS256_PEM, Map.of("rsa.pem", TestKeys.publicPem(RSA)));
    assertEquals("token expired", refused(v, TestKeys.rs256("rsa", claims().put("exp", now() - 600), RSA.getPrivate())));
  }

  @Test
  @DisplayName("a token not valid yet (nbf in the future) is refused")
  void notYetValid() {
    JwtVerifier v = verifier(TWO_HS256);
    assertEquals("token not valid yet (nbf in the future)", refused(v, TestKeys.hs256("k1", claims().put("nbf", now() + 600), K1)));
  }

  @Test
  @DisplayName("clock_skew widens the window: exp 20 s ago passes with 30s and is refused with the default 5s")
  void clockSkew() {
    String token = TestKeys.hs256("k1", claims().put("exp", now() - 20), K1);
    assertEquals("token expired", refused(verifier(TWO_HS256), token));
    accepted(verifier(TWO_HS256 + "clock_skew: 30s\n"), token);
  }

  @Test
  @DisplayName("a revoked token is refused by its jti")
  void revoked() {
    JwtVerifier v = verifier(TWO_HS256);
    JsonObject claims = claims();
    String token = TestKeys.hs256("k1", claims, K1);
    accepted(v, token);
    v.revocations().add(claims.getString("jti"), System.currentTimeMillis() + 60_000);
    assertEquals("token revoked", refused(v, token));
  }

  @Test
  @DisplayName("a token without exp is refused by a kid key, unless the key has allow_no_exp: true")
  void noExp() {
    JwtVerifier v = verifier("""
        jwt_keys:
          - { kid: strict, alg: HS256, secret: "%s" }
          - { kid: lenient, alg: HS256, secret: "%s", allow_no_exp: true }
        """.formatted(K1, K2));
    JsonObject forever = claims();
    forever.remove("exp");
    assertEquals("token has no exp (its key requires one)", refused(v, TestKeys.hs256("strict", forever, K1)));
    accepted(v, TestKeys.hs256("lenient", forever, K2));
  }

  @Test
  @DisplayName("jwt_secret's key keeps accepting tokens without exp (token --ttl 0)")
  void secretAllowsNoExp() {
    JsonObject forever = claims();
    forever.remove("exp");
    accepted(verifier(TWO_HS256), TestKeys.hs256((String) null, forever, SECRET));
  }

  @Test
  @DisplayName("with security.issuer set, a token without iss or with another is refused")
  void issuer() {
    JwtVerifier v = verifier(TWO_HS256 + "issuer: https://idp.example.com\n");
    assertEquals("token has no iss (an issuer is required)", refused(v, TestKeys.hs256("k1", claims(), K1)));
    assertEquals("issuer (iss) not accepted", refused(v, TestKeys.hs256("k1", claims().put("iss", "https://evil.example.com"), K1)));
    accepted(v, TestKeys.hs256("k1", claims().put("iss", "https://idp.example.com"), K1));
  }

  @Test
  @DisplayName("with security.audience set, aud must be it or a list naming it")
  void audience() {
    JwtVerifier v = verifier(TWO_HS256 + "audience: switchboard\n");
    assertEquals("token has no aud (an audience is required)", refused(v, TestKeys.hs256("k1", claims(), K1)));
    assertEquals("audience (aud) not accepted", refused(v, TestKeys.hs256("k1", claims().put("aud", "billing"), K1)));
    accepted(v, TestKeys.hs256("k1", claims().put("aud", "switchboard"), K1));
    accepted(v, TestKeys.hs256("k1", claims().put("aud", new JsonArray().add("billing").add("switchboard")), K1));
  }

  @Test
  @DisplayName("a minted token carries a random jti, the configured iss and aud, and no kid (the secret has none)")
  void mintedTokens() {
    JwtVerifier v = verifier("issuer: switchboard-test\naudience: api\n");
    String a = Tokens.issue(v, "alice", Duration.ofMinutes(5));
    String b = Tokens.issue(v, "alice", Duration.ofMinutes(5));
    JsonObject claims = accepted(v, a);
    assertNotNull(claims.getString("jti"));
    assertEquals("switchboard-test", claims.getString("iss"));
    assertEquals("api", claims.getValue("aud") instanceof JsonArray l ? l.getString(0) : claims.getString("aud"));
    assertEquals(false, claims.getString("jti").equals(accepted(v, b).getString("jti")), "two tokens, two jtis");
    JsonObject header = new JsonObject(new String(Base64.getUrlDecoder().decode(a.substring(0, a.indexOf('.'))), StandardCharsets.UTF_8));
    assertEquals(false, header.containsKey("kid"), header.encode());
  }

  @Test
  @DisplayName("a kid that is not a string is refused")
  void kidNotString() {
    JwtVerifier v = verifier(TWO_HS256);
    String token = TestKeys.hs256("{\"alg\":\"HS256\",\"kid\":7}", claims(), K1.getBytes(StandardCharsets.UTF_8));
    assertEquals("kid must be a string", refused(v, token));
  }
}
