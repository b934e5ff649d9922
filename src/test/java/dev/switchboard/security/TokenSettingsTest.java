package dev.switchboard.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.config.ConfigError;
import java.security.KeyPair;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** security.jwt_keys and its files are checked at start-up: one line naming the key and the problem. */
@DisplayName("security.jwt_keys settings")
class TokenSettingsTest {

  static final String SECRET = "a-partner-secret-0123456789abcdef0123";
  static final KeyPair RSA = TestKeys.rsa();
  static final KeyPair EC = TestKeys.ec();

  static ConfigError error(String yaml, Map<String, String> files) {
    return assertThrows(ConfigError.class, () -> TestKeys.settings(yaml, files));
  }

  static void assertError(String key, String problemPart, ConfigError e) {
    assertTrue(e.file().endsWith("switchboard.yaml"), e.getMessage());
    assertEquals(key, e.key(), e.getMessage());
    assertTrue(e.problem().contains(problemPart), e.getMessage());
  }

  @Test
  @DisplayName("defaults: no extra keys, no issuer or audience, a clock skew of 5 s")
  void defaults() {
    TokenSettings s = TestKeys.settings("cors: {}\n", Map.of());
    assertEquals(0, s.keys().size());
    assertEquals("", s.issuer());
    assertEquals("", s.audience());
    assertEquals(Duration.ofSeconds(5), s.clockSkew());
  }

  @Test
  @DisplayName("a PEM file that does not exist")
  void missingFile() {
    assertError("security.jwt_keys[0].pem", "no such file",
        error("jwt_keys:\n  - { kid: a, alg: RS256, pem: nowhere.pem }\n", Map.of()));
  }

  @Test
  @DisplayName("a PEM file holding a private key is refused, saying how to get the public one")
  void privateKeyPem() {
    ConfigError e = error("jwt_keys:\n  - { kid: a, alg: RS256, pem: key.pem }\n",
        Map.of("key.pem", TestKeys.pem("PRIVATE KEY", RSA.getPrivate().getEncoded())));
    assertError("security.jwt_keys[0].pem", "holds a private key", e);
    assertTrue(e.problem().contains("-pubout"), e.getMessage());
  }

  @Test
  @DisplayName("an EC key given for RS256 is refused")
  void wrongKeyType() {
    assertError("security.jwt_keys[0].pem", "holds a key of type EC, not an RSA key (alg RS256)",
        error("jwt_keys:\n  - { kid: a, alg: RS256, pem: ec.pem }\n", Map.of("ec.pem", TestKeys.publicPem(EC))));
  }

  @Test
  @DisplayName("an RSA key under 2048 bits is refused")
  void shortRsa() {
    KeyPair small = TestKeys.generateRsa(1024);
    assertError("security.jwt_keys[0].pem", "1024-bit RSA key",
        error("jwt_keys:\n  - { kid: a, alg: RS256, pem: small.pem }\n", Map.of("small.pem", TestKeys.publicPem(small))));
  }

  @Test
  @DisplayName("an EC key on another curve than P-256 is refused for ES256")
  void otherCurve() {
    KeyPair p384 = TestKeys.generate("EC", "secp384r1");
    assertError("security.jwt_keys[0].pem", "not an EC P-256 key",
        error("jwt_keys:\n  - { kid: a, alg: ES256, pem: p384.pem }\n", Map.of("p384.pem", TestKeys.publicPem(p384))));
  }

  @Test
  @DisplayName("a file with no PEM block")
  void notPem() {
    assertError("security.jwt_keys[0].pem", "holds no PEM PUBLIC KEY or CERTIFICATE",
        error("jwt_keys:\n  - { kid: a, alg: ES256, pem: x.pem }\n", Map.of("x.pem", "hello")));
  }

  @Test
  @DisplayName("two keys with one kid")
  void duplicateKid() {
    assertError("security.jwt_keys[1]", "kid 'a' is given twice", error("""
        jwt_keys:
          - { kid: a, alg: HS256, secret: "%s" }
          - { kid: a, alg: HS256, secret: "%s" }
        """.formatted(SECRET, SECRET), Map.of()));
  }

  @Test
  @DisplayName("a kid in jwt_keys and in a JWKS file")
  void duplicateKidAcrossJwks() {
    assertError("security.jwt_keys[1]", "kid 'idp' is given twice", error("""
        jwt_keys:
          - { kid: idp, alg: HS256, secret: "%s" }
          - { jwks: keys.json }
        """.formatted(SECRET), Map.of("keys.json", TestKeys.jwks(TestKeys.jwk("idp", RSA)))));
  }

  @Test
  @DisplayName("a key without kid")
  void kidRequired() {
    assertError("security.jwt_keys[0].kid", "is required", error("jwt_keys:\n  - { alg: HS256, secret: \"" + SECRET + "\" }\n", Map.of()));
  }

  @Test
  @DisplayName("an algorithm other than HS256, RS256, ES256 (none included)")
  void unknownAlg() {
    assertError("security.jwt_keys[0].alg", "must be HS256, RS256 or ES256, got 'none'",
        error("jwt_keys:\n  - { kid: a, alg: none, secret: \"" + SECRET + "\" }\n", Map.of()));
  }

  @Test
  @DisplayName("an HS256 secret shorter than 32 bytes")
  void shortSecret() {
    assertError("security.jwt_keys[0].secret", "at least 32 bytes", error("jwt_keys:\n  - { kid: a, alg: HS256, secret: short }\n", Map.of()));
  }

  @Test
  @DisplayName("an HS256 secret from a variable that is not set names the variable")
  void unsetSecret() {
    ConfigError e = assertThrows(ConfigError.class, () -> TestKeys.settings(TestKeys.conf(
        "jwt_keys:\n  - { kid: a, alg: HS256, secret: \"${PARTNER_KEY}\" }\n", Map.of()), Map.of()));
    assertError("security.jwt_keys[0].secret", "PARTNER_KEY", e);
  }

  @Test
  @DisplayName("an RS256 key given a secret: public-key algorithms need pem or jwks")
  void rsaWithSecret() {
    assertError("security.jwt_keys[0].secret", "RS256 is verified with a public key",
        error("jwt_keys:\n  - { kid: a, alg: RS256, secret: \"" + SECRET + "\" }\n", Map.of()));
  }

  @Test
  @DisplayName("a key with two sources")
  void twoSources() {
    assertError("security.jwt_keys[0]", "exactly one of secret",
        error("jwt_keys:\n  - { kid: a, alg: HS256, secret: \"" + SECRET + "\", pem: a.pem }\n", Map.of()));
  }

  @Test
  @DisplayName("a JWKS entry may not carry its own kid: each key of the file has one")
  void jwksWithKid() {
    assertError("security.jwt_keys[0].kid", "comes from each key of the JWKS file",
        error("jwt_keys:\n  - { kid: a, jwks: keys.json }\n", Map.of("keys.json", TestKeys.jwks(TestKeys.jwk("idp", RSA)))));
  }

  @Test
  @DisplayName("a JWKS key without kid")
  void jwksKeyWithoutKid() {
    io.vertx.core.json.JsonObject jwk = TestKeys.jwk("x", RSA);
    jwk.remove("kid");
    assertError("security.jwt_keys[0].jwks", "keys[0] has no kid", error("jwt_keys:\n  - { jwks: keys.json }\n",
        Map.of("keys.json", TestKeys.jwks(jwk))));
  }

  @Test
  @DisplayName("a JWKS key with an algorithm the gateway does not verify")
  void jwksUnsupportedAlg() {
    assertError("security.jwt_keys[0].jwks", "alg 'PS256' is not supported", error("jwt_keys:\n  - { jwks: keys.json }\n",
        Map.of("keys.json", TestKeys.jwks(TestKeys.jwk("x", RSA).put("alg", "PS256")))));
  }

  @Test
  @DisplayName("a JWKS file that is not JSON")
  void jwksNotJson() {
    assertError("security.jwt_keys[0].jwks", "is not a JSON object", error("jwt_keys:\n  - { jwks: keys.json }\n",
        Map.of("keys.json", "[1, 2")));
  }

  @Test
  @DisplayName("keys marked use: enc are skipped; a file of only those is refused")
  void jwksEncryptionKeysOnly() {
    assertError("security.jwt_keys[0].jwks", "holds no signing key", error("jwt_keys:\n  - { jwks: keys.json }\n",
        Map.of("keys.json", TestKeys.jwks(TestKeys.jwk("x", RSA).put("use", "enc")))));
  }

  @Test
  @DisplayName("a clock skew over 5 minutes")
  void skewTooLarge() {
    assertError("security.clock_skew", "at most 5m", error("clock_skew: 1h\n", Map.of()));
  }
}
