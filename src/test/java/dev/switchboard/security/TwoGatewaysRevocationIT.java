package dev.switchboard.security;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.switchboard.testing.TestGateway;
import dev.switchboard.testing.TestRedis;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Distributed profile: a token revoked through one gateway is refused by another that had it
 * cached, once that one's refresh has read Redis. Needs REDIS_URL (scripts/test.sh); fails without.
 */
@DisplayName("Token revocation across two gateways")
class TwoGatewaysRevocationIT {

  Vertx vertx;
  WebClient web;
  String prefix;
  TestGateway a;
  TestGateway b;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    web = WebClient.create(vertx);
    prefix = "sbtest-revoke:" + UUID.randomUUID().toString().substring(0, 8) + ":";
    a = instance();
    b = instance();
  }

  @AfterEach
  void stop() throws Exception {
    try {
      a.close();
      b.close();
      TestRedis.deleteUnder(vertx, TestRedis.url(), prefix);
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  TestGateway instance() {
    return TestGateway.builder().env("SWITCHBOARD_STORAGE", "distributed").env("REDIS_URL", TestRedis.url())
        .file("channels.yaml", "store:\n  key_prefix: \"" + prefix + "\"\n").start();
  }

  HttpResponse<Buffer> use(TestGateway g, String token) throws Exception {
    return web.getAbs(g.url("/api/v1/tasks/none")).putHeader("Authorization", "Bearer " + token).send().await(10, TimeUnit.SECONDS);
  }

  @Test
  @DisplayName("revoked through A, refused by B (which had verified and cached it) within its refresh")
  void revokedEverywhere() throws Exception {
    String token = a.token("bob");
    assertEquals(404, use(b, token).statusCode(), "B accepts it first");
    HttpResponse<Buffer> r = web.postAbs(a.url("/api/v1/tokens/revoke")).putHeader("Authorization", "Bearer " + a.token("admin"))
        .sendJsonObject(new JsonObject().put("token", token)).await(10, TimeUnit.SECONDS);
    assertEquals(200, r.statusCode(), r.bodyAsString());
    assertEquals(401, use(a, token).statusCode(), "A refuses it at once");
    // B learns it from Redis on its next refresh (every 2 s); waited for, not timed
    long giveUp = System.currentTimeMillis() + 20_000;
    HttpResponse<Buffer> seen = use(b, token);
    while (seen.statusCode() != 401 && System.currentTimeMillis() < giveUp) {
      Thread.sleep(200);
      seen = use(b, token);
    }
    assertEquals(401, seen.statusCode(), seen.bodyAsString());
    assertEquals("invalid token: token revoked", seen.bodyAsJsonObject().getJsonObject("error").getString("message"));
  }
}
