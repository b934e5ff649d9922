package dev.switchboard.security;

import dev.switchboard.testing.TestRedis;
import io.vertx.core.Vertx;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;

/** Needs REDIS_URL (scripts/test.sh starts Redis); fails without it. */
@DisplayName("Revoked tokens, Redis")
class RedisRevokedTokensIT extends RevokedTokensBehaviour {

  String prefix;

  @Override
  RevokedTokens open(Vertx vertx) {
    prefix = "sbtest-revoked:" + UUID.randomUUID().toString().substring(0, 8) + ":";
    return reopen(vertx);
  }

  @Override
  RevokedTokens reopen(Vertx vertx) {
    return new RedisRevokedTokens(vertx, TestRedis.url(), prefix);
  }

  @AfterEach
  void dropKeys() throws Exception {
    Vertx v = Vertx.vertx();
    try {
      TestRedis.deleteUnder(v, TestRedis.url(), prefix);
    } finally {
      v.close();
    }
  }
}
