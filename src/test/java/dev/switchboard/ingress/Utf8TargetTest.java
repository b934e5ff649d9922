package dev.switchboard.ingress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Query strings and paths are UTF-8 whether the client percent-encodes them (HTTP libraries) or
 * sends the bytes raw (curl, the README's own example). The raw requests are written on a socket,
 * since every HTTP client would encode them.
 */
@DisplayName("Request targets are read as UTF-8")
class Utf8TargetTest {

  static final String SCOPE = "conversation:dingtalk:cid123";
  static Vertx vertx;
  static TestGateway gateway;
  static String token;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    gateway = TestGateway.builder().start();
    token = gateway.token("alice");
    int status = WebClient.create(vertx).postAbs(gateway.url("/api/v1/memories")).bearerTokenAuthentication(token)
        .sendJsonObject(new JsonObject().put("content", "项目周会在每周二下午三点").put("scope", SCOPE))
        .await(60, TimeUnit.SECONDS).statusCode();
    assertEquals(201, status);
  }

  @AfterAll
  static void stop() {
    gateway.close();
    vertx.close().await();
  }

  /** GET with the target's bytes exactly as given. */
  private static RawHttp.Answer rawGet(byte[] target) throws Exception {
    ByteArrayOutputStream request = new ByteArrayOutputStream();
    request.writeBytes("GET ".getBytes(StandardCharsets.US_ASCII));
    request.writeBytes(target);
    request.writeBytes((" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token + "\r\nConnection: close\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII));
    try (RawHttp http = new RawHttp(gateway.port())) {
      http.send(request.toByteArray());
      return http.readUntilClosed(60_000);
    }
  }

  private static JsonObject encodedGet(String path, String... query) throws Exception {
    var request = WebClient.create(vertx).getAbs(gateway.url(path)).bearerTokenAuthentication(token);
    for (int i = 0; i < query.length; i += 2) {
      request.addQueryParam(query[i], query[i + 1]);
    }
    return request.send().await(60, TimeUnit.SECONDS).bodyAsJsonObject();
  }

  @Test
  @DisplayName("a raw UTF-8 query finds what its percent-encoded form finds, with the same scores")
  void rawQueryParameter() throws Exception {
    RawHttp.Answer raw = rawGet(("/api/v1/memories/search?q=周会几点开&scope=" + SCOPE + "&k=5").getBytes(StandardCharsets.UTF_8));
    assertEquals(200, raw.status(), raw.text());
    JsonArray rawData = new JsonObject(raw.body()).getJsonArray("data");
    JsonArray encodedData = encodedGet("/api/v1/memories/search", "q", "周会几点开", "scope", SCOPE, "k", "5").getJsonArray("data");
    assertFalse(encodedData.isEmpty(), "the encoded search finds the memory");
    assertEquals(encodedData, rawData);
  }

  @Test
  @DisplayName("a raw UTF-8 path parameter is the same as its percent-encoded form")
  void rawPathParameter() throws Exception {
    RawHttp.Answer raw = rawGet("/api/v1/memories/记忆-一".getBytes(StandardCharsets.UTF_8));
    assertEquals(404, raw.status(), raw.text());
    String rawMessage = new JsonObject(raw.body()).getJsonObject("error").getString("message");
    String encodedMessage = encodedGet("/api/v1/memories/%E8%AE%B0%E5%BF%86-%E4%B8%80").getJsonObject("error").getString("message");
    assertTrue(encodedMessage.contains("记忆-一"), encodedMessage);
    assertEquals(encodedMessage, rawMessage);
  }

  @Test
  @DisplayName("raw bytes that are not UTF-8 are 400 naming the parameter")
  void rawNotUtf8() throws Exception {
    ByteArrayOutputStream target = new ByteArrayOutputStream();
    target.writeBytes("/api/v1/memories/search?scope=user:a&q=".getBytes(StandardCharsets.US_ASCII));
    target.write(0xff);
    target.write(0xfe);
    RawHttp.Answer a = rawGet(target.toByteArray());
    assertEquals(400, a.status(), a.text());
    assertTrue(a.body().contains("'q'"), a.body());
  }

  @Test
  @DisplayName("a malformed or non-UTF-8 percent escape in the query is 400 naming the parameter")
  void badEscapeInQuery() throws Exception {
    for (String target : new String[] {"/api/v1/memories/search?q=%zz&scope=user:a", "/api/v1/memories/search?q=%E5%91&scope=user:a",
        "/api/v1/memories/search?q=a%&scope=user:a"}) {
      RawHttp.Answer a = rawGet(target.getBytes(StandardCharsets.US_ASCII));
      assertEquals(400, a.status(), target + " " + a.text());
      JsonObject error = new JsonObject(a.body()).getJsonObject("error");
      assertTrue(error.getString("message").contains("'q'"), error.encode());
      assertEquals("invalid_request_error", error.getString("type"));
    }
  }

  @Test
  @DisplayName("a malformed escape in the path is 400 with an OpenAI-shaped error")
  void badEscapeInPath() throws Exception {
    RawHttp.Answer a = rawGet("/api/v1/memories/%zz".getBytes(StandardCharsets.US_ASCII));
    assertEquals(400, a.status(), a.text());
    assertEquals("invalid_path", new JsonObject(a.body()).getJsonObject("error").getString("code"));
  }
}
