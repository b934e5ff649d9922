package dev.switchboard.security;

import io.vertx.core.Future;
import java.util.Map;

/**
 * The revoked tokens, by {@code jti}, each kept until the token would have expired (then it is
 * refused anyway). Embedded: a file in the data folder; distributed: Redis keys, so that a token
 * revoked through one instance is refused by all.
 */
interface RevokedTokens {

  /** Refuses {@code jti} until {@code untilMillis} (epoch ms; {@link Revocations#FOREVER} for good); a later until of an earlier revocation stands. */
  Future<Void> revoke(String jti, long untilMillis);

  /** Every revoked jti whose until has not passed, with its until. */
  Future<Map<String, Long>> current();

  Future<Void> close();
}
