package dev.switchboard.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** POST /api/v1/tokens/revoke: a revoked token is refused from then on, cached or not, across a restart. */
@DisplayName("Token revocation API")
class RevokeApiTest {

  static TestGateway gateway;
  static Vertx vertx;
  static WebClient web;
  static String admin;

  @BeforeAll
  static void start() {
    gateway = TestGateway.builder().start();
    vertx = Vertx.vertx();
    web = WebClient.create(vertx);
    admin = withRoles("admin", "admin");
  }

  static String withRoles(String subject, String role) {
    return Tokens.issue(Tokens.auth(vertx, new JwtSecret(TestGateway.SECRET, "test")), subject, Duration.ofHours(1),
        new JsonObject().put("roles", new io.vertx.core.json.JsonArray().add(role)));
  }

  @AfterAll
  static void stop() throws Exception {
    gateway.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  /** A request that needs a token; an unknown task is 404 for a token that passes. */
  static HttpResponse<Buffer> use(String token) throws Exception {
    return web.getAbs(gateway.url("/api/v1/tasks/none")).putHeader("Authorization", "Bearer " + token).send()
        .await(10, TimeUnit.SECONDS);
  }

  static HttpResponse<Buffer> revoke(JsonObject body) throws Exception {
    return web.postAbs(gateway.url("/api/v1/tokens/revoke")).putHeader("Authorization", "Bearer " + admin)
        .sendJsonObject(body).await(10, TimeUnit.SECONDS);
  }

  static JsonObject claims(String token) {
    return new JsonObject(new String(Base64.getUrlDecoder().decode(token.split("\\.")[1]), StandardCharsets.UTF_8));
  }

  static void assertRevoked(HttpResponse<Buffer> r) {
    assertEquals(401, r.statusCode(), r.bodyAsString());
    assertEquals("invalid token: token revoked", r.bodyAsJsonObject().getJsonObject("error").getString("message"));
  }

  @Test
  @DisplayName("revoke by jti: the same token, already verified and cached, then gets 401 'token revoked'")
  void revokeByJti() throws Exception {
    String token = gateway.token("bob");
    assertEquals(404, use(token).statusCode(), "passes before");
    JsonObject claims = claims(token);
    HttpResponse<Buffer> r = revoke(new JsonObject().put("jti", claims.getString("jti")).put("exp", claims.getLong("exp")));
    assertEquals(200, r.statusCode(), r.bodyAsString());
    assertEquals(new JsonObject().put("jti", claims.getString("jti")).put("revoked", true).put("exp", claims.getLong("exp")),
        r.bodyAsJsonObject());
    assertRevoked(use(token));
  }

  @Test
  @DisplayName("revoke a token one holds: {\"token\": ...} takes its jti and exp")
  void revokeByToken() throws Exception {
    String token = gateway.token("carol");
    HttpResponse<Buffer> r = revoke(new JsonObject().put("token", token));
    assertEquals(200, r.statusCode(), r.bodyAsString());
    assertEquals(claims(token).getLong("exp"), r.bodyAsJsonObject().getLong("exp"));
    assertRevoked(use(token));
  }

  @Test
  @DisplayName("a token without exp is revoked for good (exp null in the answer)")
  void revokeForever() throws Exception {
    String token = gateway.token("dave", Duration.ZERO);
    HttpResponse<Buffer> r = revoke(new JsonObject().put("token", token));
    assertEquals(200, r.statusCode(), r.bodyAsString());
    assertTrue(r.bodyAsJsonObject().containsKey("exp") && r.bodyAsJsonObject().getValue("exp") == null, r.bodyAsString());
    assertRevoked(use(token));
  }

  @Test
  @DisplayName("a revocation outlives a restart (embedded: kept in the data folder)")
  void survivesRestart() throws Exception {
    String token = gateway.token("erin");
    assertEquals(200, revoke(new JsonObject().put("jti", claims(token).getString("jti"))).statusCode());
    gateway.restart();
    assertRevoked(use(token));
    assertEquals(404, use(admin).statusCode(), "other tokens still pass");
  }

  @Test
  @DisplayName("a body without jti or token is 400 saying what to send")
  void noJti() throws Exception {
    HttpResponse<Buffer> r = revoke(new JsonObject().put("exp", 1));
    assertEquals(400, r.statusCode(), r.bodyAsString());
    assertTrue(r.bodyAsJsonObject().getJsonObject("error").getString("message").contains("'jti' is required"), r.bodyAsString());
  }

  @Test
  @DisplayName("an unknown field is 400 naming it")
  void unknownField() throws Exception {
    HttpResponse<Buffer> r = revoke(new JsonObject().put("jti", "x").put("reason", "lost laptop"));
    assertEquals(400, r.statusCode(), r.bodyAsString());
    assertTrue(r.bodyAsJsonObject().getJsonObject("error").getString("message").contains("unknown field 'reason'"), r.bodyAsString());
  }

  @Test
  @DisplayName("a token none of the gateway's keys signed cannot be revoked: 400 with the reason")
  void foreignToken() throws Exception {
    String forged = TestKeys.hs256((String) null, TestKeys.claims(), "another-secret-0123456789abcdef0123");
    HttpResponse<Buffer> r = revoke(new JsonObject().put("token", forged));
    assertEquals(400, r.statusCode(), r.bodyAsString());
    assertEquals("token not accepted: signature not accepted", r.bodyAsJsonObject().getJsonObject("error").getString("message"));
  }

  @Test
  @DisplayName("revoking is an admin route: a client's token gets 403")
  void adminOnly() throws Exception {
    HttpResponse<Buffer> r = web.postAbs(gateway.url("/api/v1/tokens/revoke"))
        .putHeader("Authorization", "Bearer " + withRoles("alice", "client"))
        .sendJsonObject(new JsonObject().put("jti", "x")).await(10, TimeUnit.SECONDS);
    assertEquals(403, r.statusCode(), r.bodyAsString());
  }

  @Test
  @DisplayName("revoking needs a token itself: 401 without one")
  void needsToken() throws Exception {
    HttpResponse<Buffer> r = web.postAbs(gateway.url("/api/v1/tokens/revoke")).sendJsonObject(new JsonObject().put("jti", "x"))
        .await(10, TimeUnit.SECONDS);
    assertEquals(401, r.statusCode(), r.bodyAsString());
  }
}
