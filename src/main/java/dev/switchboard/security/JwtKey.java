package dev.switchboard.security;

import java.security.PublicKey;

/**
 * One key tokens are verified with: the HS256 secret ({@code secret}) or an RS256/ES256 public key
 * ({@code publicKey}). {@code kid} is null for the implicit key of {@code security.jwt_secret},
 * which verifies the tokens that carry no {@code kid}. {@code origin} says where it was configured,
 * for messages.
 */
record JwtKey(String kid, String alg, byte[] secret, PublicKey publicKey, boolean allowNoExp, String origin) {

  static JwtKey hs256(String kid, byte[] secret, boolean allowNoExp, String origin) {
    return new JwtKey(kid, "HS256", secret, null, allowNoExp, origin);
  }

  static JwtKey pub(String kid, String alg, PublicKey key, boolean allowNoExp, String origin) {
    return new JwtKey(kid, alg, null, key, allowNoExp, origin);
  }
}
