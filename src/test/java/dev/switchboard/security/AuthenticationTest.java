package dev.switchboard.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * /v1 and /api need a valid HS256 JWT. Tokens here are built by hand (header, claims, HMAC), not
 * by the gateway's own signer, so the test would catch a verifier that accepts too much.
 */
@ExtendWith(VertxExtension.class)
@DisplayName("API authentication")
class AuthenticationTest {

  static TestGateway gateway;

  @BeforeAll
  static void start() {
    gateway = TestGateway.builder().start();
  }

  @AfterAll
  static void stop() {
    gateway.close();
  }

  static String jwt(String headerJson, JsonObject claims, String key) {
    Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
    String signingInput = b64.encodeToString(headerJson.getBytes(StandardCharsets.UTF_8)) + "."
        + b64.encodeToString(claims.encode().getBytes(StandardCharsets.UTF_8));
    if (key == null) {
      return signingInput + ".";
    }
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      return signingInput + "." + b64.encodeToString(mac.doFinal(signingInput.getBytes(StandardCharsets.US_ASCII)));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  static JsonObject claims(long expOffsetSeconds) {
    long now = System.currentTimeMillis() / 1000;
    return new JsonObject().put("sub", "alice").put("iat", now).put("exp", now + expOffsetSeconds);
  }

  private void expect(Vertx vertx, VertxTestContext ctx, String authorization, int status, String messagePart) {
    HttpRequest<io.vertx.core.buffer.Buffer> req = WebClient.create(vertx).getAbs(gateway.url("/api/v1/tasks/none"));
    if (authorization != null) {
      req.putHeader("Authorization", authorization);
    }
    req.send().onComplete(ctx.succeeding(r -> ctx.verify(() -> {
      assertEquals(status, r.statusCode(), r.bodyAsString());
      if (status == 401) {
        JsonObject error = r.bodyAsJsonObject().getJsonObject("error");
        assertEquals("authentication_error", error.getString("type"));
        assertTrue(error.getString("message").contains(messagePart), error.getString("message"));
        assertEquals("Bearer", r.getHeader("WWW-Authenticate"));
      }
      ctx.completeNow();
    })));
  }

  @Test
  @DisplayName("a valid token passes (the route then answers 404 for an unknown task)")
  void validToken(Vertx vertx, VertxTestContext ctx) {
    expect(vertx, ctx, "Bearer " + jwt("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", claims(3600), TestGateway.SECRET), 404, "");
  }

  @Test
  @DisplayName("an unknown API path reached through a dot segment is 401 without a token, not a 404 that maps the API")
  void unknownApiPathThroughDotSegment(Vertx vertx, VertxTestContext ctx) {
    WebClient.create(vertx).getAbs(gateway.url("/x/../api/v1/nothing-here")).send()
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertEquals(401, r.statusCode(), r.bodyAsString());
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("no Authorization header is 401")
  void missing(Vertx vertx, VertxTestContext ctx) {
    expect(vertx, ctx, null, 401, "missing Authorization");
  }

  @Test
  @DisplayName("an expired token is 401")
  void expired(Vertx vertx, VertxTestContext ctx) {
    expect(vertx, ctx, "Bearer " + jwt("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", claims(-600), TestGateway.SECRET), 401, "expired");
  }

  @Test
  @DisplayName("a token signed with another key is 401")
  void forged(Vertx vertx, VertxTestContext ctx) {
    expect(vertx, ctx, "Bearer " + jwt("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", claims(3600), "another-secret-0123456789abcdef0123"), 401, "invalid token");
  }

  @Test
  @DisplayName("an unsigned token (alg none) is 401")
  void algNone(Vertx vertx, VertxTestContext ctx) {
    expect(vertx, ctx, "Bearer " + jwt("{\"alg\":\"none\",\"typ\":\"JWT\"}", claims(3600), null), 401, "invalid token");
  }

  @Test
  @DisplayName("a non-Bearer scheme is 401")
  void basicScheme(Vertx vertx, VertxTestContext ctx) {
    expect(vertx, ctx, "Basic YWxpY2U6c2VjcmV0", 401, "Bearer");
  }

  private static final String HS256 = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

  private static String signed(JsonObject claims) {
    return "Bearer " + jwt(HS256, claims, TestGateway.SECRET);
  }

  private static long now() {
    return System.currentTimeMillis() / 1000;
  }

  @Test
  @DisplayName("the 401 for a missing token names the command that mints one with the running jar")
  void mintHint(Vertx vertx, VertxTestContext ctx) {
    // run from target/classes by surefire: the jar that mvn package builds from them
    assertEquals("java -jar target/switchboard.jar token --sub <name>", Tokens.mintCommand());
    expect(vertx, ctx, null, 401, "mint one with: java -jar target/switchboard.jar token --sub <name>");
  }

  @Test
  @DisplayName("a correctly signed token whose exp is a string is 401 (not 500) saying exp must be a number")
  void expString(Vertx vertx, VertxTestContext ctx) {
    expect(vertx, ctx, signed(new JsonObject().put("sub", "alice").put("exp", String.valueOf(now() + 3600))), 401,
        "exp must be a number");
  }

  @Test
  @DisplayName("a correctly signed token whose exp is null is 401 saying exp must be a number")
  void expNull(Vertx vertx, VertxTestContext ctx) {
    expect(vertx, ctx, signed(new JsonObject().put("sub", "alice").putNull("exp")), 401, "exp must be a number");
  }

  @Test
  @DisplayName("a token whose nbf is in the future is 401 'not valid yet', not 'expired'")
  void nbfInFuture(Vertx vertx, VertxTestContext ctx) {
    expect(vertx, ctx, signed(claims(3600).put("nbf", now() + 600)), 401, "token not valid yet (nbf in the future)");
  }

  @Test
  @DisplayName("a token issued in the future is 401 'issued in the future', not 'expired'")
  void iatInFuture(Vertx vertx, VertxTestContext ctx) {
    expect(vertx, ctx, signed(claims(3600).put("iat", now() + 600)), 401, "token issued in the future");
  }

  @Test
  @DisplayName("a token with a critical header extension is 401 (RFC 7515 §4.1.11)")
  void criticalHeader(Vertx vertx, VertxTestContext ctx) {
    expect(vertx, ctx, "Bearer " + jwt("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"crit\":[\"exp\"],\"exp\":1}", claims(3600),
        TestGateway.SECRET), 401, "unsupported critical header");
  }

  @Test
  @DisplayName("a token whose sub is not a string is 401")
  void subNotString(Vertx vertx, VertxTestContext ctx) {
    expect(vertx, ctx, signed(claims(3600).put("sub", 42)), 401, "sub must be a string");
  }

  @Test
  @DisplayName("something that is not a JWT is 401 saying so")
  void notAJwt(Vertx vertx, VertxTestContext ctx) {
    expect(vertx, ctx, "Bearer not-a-token", 401, "not a JWT");
  }

  /** A valid token whose signature is spelled {@code respell}ed. */
  private static String respelled(java.util.function.UnaryOperator<String> respell) {
    String token = jwt(HS256, claims(3600), TestGateway.SECRET);
    int dot = token.lastIndexOf('.');
    return "Bearer " + token.substring(0, dot + 1) + respell.apply(token.substring(dot + 1));
  }

  @Test
  @DisplayName("a token whose signature carries base64 padding is 401 'not a JWT', not a second spelling of a valid one")
  void paddedSignature(Vertx vertx, VertxTestContext ctx) {
    // 32 bytes are 43 characters unpadded; '=' makes them 44
    expect(vertx, ctx, respelled(sig -> sig + "="), 401, "not a JWT (signature is not canonical base64url");
  }

  @Test
  @DisplayName("a token whose signature has stray bits after its last byte is 401 'not a JWT'")
  void nonCanonicalSignature(Vertx vertx, VertxTestContext ctx) {
    // the last of 43 characters carries 4 bits of the hash and 2 unused ones: set the lowest
    String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    expect(vertx, ctx, respelled(sig -> {
      int last = alphabet.indexOf(sig.charAt(sig.length() - 1));
      return sig.substring(0, sig.length() - 1) + alphabet.charAt(last ^ 1);
    }), 401, "not a JWT (signature is not canonical base64url");
  }

  @Test
  @DisplayName("a correctly signed token without exp is accepted (token --ttl 0 makes them)")
  void noExp(Vertx vertx, VertxTestContext ctx) {
    expect(vertx, ctx, signed(new JsonObject().put("sub", "alice").put("iat", now())), 404, "");
  }

  @Test
  @DisplayName("a token minted by the gateway without expiry is accepted")
  void mintedWithoutExpiry(Vertx vertx, VertxTestContext ctx) {
    expect(vertx, ctx, "Bearer " + gateway.token("alice", java.time.Duration.ZERO), 404, "");
  }

  @Test
  @DisplayName("a token that expired less than the 5 s leeway ago still passes")
  void leeway(Vertx vertx, VertxTestContext ctx) {
    expect(vertx, ctx, signed(claims(-2)), 404, "");
  }

  @Test
  @DisplayName("health, readiness and metrics stay open")
  void openEndpoints(Vertx vertx, VertxTestContext ctx) {
    WebClient web = WebClient.create(vertx);
    var checks = ctx.checkpoint(3);
    for (String path : new String[] {"/healthz", "/readyz", "/metrics"}) {
      web.getAbs(gateway.url(path)).send().onComplete(ctx.succeeding(r -> ctx.verify(() -> {
        // open means no token is asked for; /readyz may still say 503 while long-term memory opens
        boolean opening = "/readyz".equals(path) && r.statusCode() == 503
            && "starting".equals(r.bodyAsJsonObject().getJsonObject("components").getJsonObject("long_term_memory").getString("error"));
        assertEquals(opening ? 503 : 200, r.statusCode(), path + ": " + r.bodyAsString());
        assertTrue(r.getHeader("WWW-Authenticate") == null, path + " asked for a token");
        checks.flag();
      })));
    }
  }
}
