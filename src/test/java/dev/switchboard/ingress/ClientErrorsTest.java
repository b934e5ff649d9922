package dev.switchboard.ingress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * A bounded fuzz of the client's possible mistakes: malformed query strings, huge numbers, wrong
 * JSON types for every field of a task and a chat completion, bodies that are not JSON objects.
 * Each is the client's error, so none may get a 5xx, and each 4xx is an OpenAI-shaped error.
 */
@DisplayName("Bad input never gets a 5xx")
class ClientErrorsTest {

  static Vertx vertx;
  static FakeUpstream upstream;
  static TestGateway gateway;
  static WebClient web;
  static String token;

  /** Values of every JSON type and the usual edge cases. */
  static final List<Object> WRONG = List.of(
      "null", "5", "-1", "1.5", "0", "99999999999999999999", "1e400", "-1e400", "true", "\"\"", "\"x\"",
      "\"99999999999999999999s\"", "\"-5m\"", "[]", "[1]", "[null]", "[{}]", "[{\"type\":5}]", "{}", "{\"scope\":5}",
      "\"" + "x".repeat(10_000) + "\"");

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).start();
    web = WebClient.create(vertx);
    token = gateway.token("alice");
  }

  @AfterAll
  static void stop() {
    gateway.close();
    vertx.close().await();
  }

  private static HttpResponse<Buffer> post(String path, String body) throws Exception {
    return web.postAbs(gateway.url(path)).bearerTokenAuthentication(token).putHeader("Content-Type", "application/json")
        .sendBuffer(Buffer.buffer(body.getBytes(StandardCharsets.UTF_8))).await(30, TimeUnit.SECONDS);
  }

  private static void assertClientError(String what, HttpResponse<Buffer> r, List<String> failures) {
    if (r.statusCode() >= 500) {
      failures.add(what + " -> " + r.statusCode() + " " + r.bodyAsString());
    } else if (r.statusCode() >= 400) {
      JsonObject error = r.bodyAsJsonObject().getJsonObject("error");
      if (error == null || error.getString("message") == null || error.getString("type") == null) {
        failures.add(what + " -> " + r.statusCode() + " without an OpenAI-shaped error: " + r.bodyAsString());
      }
    }
  }

  /** {@code base} with {@code field} replaced by the raw JSON {@code value}. */
  private static String with(JsonObject base, String field, Object value) {
    JsonObject copy = base.copy();
    copy.put(field, "__VALUE__");
    return copy.encode().replace("\"__VALUE__\"", value.toString());
  }

  @Test
  @DisplayName("wrong types and huge numbers in every field of POST /api/v1/tasks")
  void taskFields() throws Exception {
    JsonObject valid = new JsonObject().put("input", "hi").put("model", "fake-model");
    List<String> failures = new ArrayList<>();
    for (String field : List.of("input", "model", "idempotency_key", "priority", "channels", "delay", "memory_scope")) {
      for (Object value : WRONG) {
        String body = with(valid, field, value);
        assertClientError("task " + field + "=" + abbreviated(value), post("/api/v1/tasks", body), failures);
      }
    }
    assertTrue(failures.isEmpty(), String.join("\n", failures));
  }

  @Test
  @DisplayName("wrong types and huge numbers in every field of POST /v1/chat/completions")
  void chatFields() throws Exception {
    JsonObject valid = new JsonObject().put("model", "fake-model")
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hi")));
    List<String> failures = new ArrayList<>();
    for (String field : List.of("model", "messages", "stream", "stream_options", "temperature", "top_p", "max_tokens",
        "max_completion_tokens", "n", "seed", "stop", "tools", "tool_choice", "user", "memory", "presence_penalty",
        "frequency_penalty", "logprobs", "response_format")) {
      for (Object value : WRONG) {
        assertClientError("chat " + field + "=" + abbreviated(value), post("/v1/chat/completions", with(valid, field, value)), failures);
      }
    }
    for (Object message : WRONG) {
      assertClientError("chat messages=[" + abbreviated(message) + "]",
          post("/v1/chat/completions", with(valid, "messages", "[" + message + "]")), failures);
      for (String part : List.of("role", "content", "name")) {
        String m = with(new JsonObject().put("role", "user").put("content", "hi"), part, message);
        assertClientError("chat messages[0]." + part + "=" + abbreviated(message),
            post("/v1/chat/completions", with(valid, "messages", "[" + m + "]")), failures);
      }
    }
    assertTrue(failures.isEmpty(), String.join("\n", failures));
  }

  @Test
  @DisplayName("bodies that are not a JSON object, on every JSON route")
  void notJsonObjects() throws Exception {
    List<String> failures = new ArrayList<>();
    List<String> bodies = new ArrayList<>(List.of("", "{", "[]", "null", "\"s\"", "5", "{\"a\":1e99999999}", "{\"a\":}",
        "{\"a\":1}garbage", "\uFEFF{}"));
    bodies.add("[".repeat(5000) + "]".repeat(5000));
    bodies.add("{\"a\":".repeat(3000) + "1" + "}".repeat(3000));
    for (String path : List.of("/v1/chat/completions", "/api/v1/tasks", "/api/v1/memories", "/v1/embeddings")) {
      for (String body : bodies) {
        assertClientError(path + " body " + abbreviated(body), post(path, body), failures);
      }
      HttpResponse<Buffer> notUtf8 = web.postAbs(gateway.url(path)).bearerTokenAuthentication(token)
          .sendBuffer(Buffer.buffer(new byte[] {'{', '"', (byte) 0xff, '"', ':', '1', '}'})).await(30, TimeUnit.SECONDS);
      assertClientError(path + " body with invalid UTF-8", notUtf8, failures);
    }
    assertTrue(failures.isEmpty(), String.join("\n", failures));
  }

  @Test
  @DisplayName("malformed query strings on the list, search, deliveries and usage routes are 400")
  void queryStrings() throws Exception {
    List<String> failures = new ArrayList<>();
    List<String> queries = List.of("%", "%zz", "%E5%91", "q=%", "k=99999999999999999999", "k=-1", "k=1e3", "k=abc",
        "limit=99999999999999999999", "limit=0", "limit=1.5", "cursor=abc", "cursor=-1", "cursor=99999999999999999999",
        "status=%00", "status=nope", "by=", "by=%zz", "by=nope", "&&&", "=", "==", "scope=%zz", "scope=", "scope=user:a&scope=%",
        "channel=" + "%41".repeat(200));
    for (String path : List.of("/api/v1/memories", "/api/v1/memories/search", "/api/v1/deliveries", "/api/v1/usage",
        "/api/v1/tasks/none", "/api/v1/providers", "/v1/models")) {
      for (String query : queries) {
        String target = path + "?" + (path.contains("memories") && !query.startsWith("scope") ? "scope=user:a&" : "") + query;
        try (RawHttp http = new RawHttp(gateway.port())) {
          http.send("GET " + target + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token + "\r\nConnection: close\r\n\r\n");
          RawHttp.Answer a = http.readUntilClosed(30_000);
          if (a.status() < 0 || a.status() >= 500) {
            failures.add(target + " -> " + a.text());
          } else if (a.status() >= 400 && !a.body().contains("\"error\"")) {
            failures.add(target + " -> not an OpenAI error: " + a.text());
          }
        }
      }
    }
    assertTrue(failures.isEmpty(), String.join("\n", failures));
  }

  @Test
  @DisplayName("a delay too large for any duration is 400 naming the field")
  void hugeDelay() throws Exception {
    HttpResponse<Buffer> r = post("/api/v1/tasks", "{\"input\":\"hi\",\"delay\":\"99999999999999999999s\"}");
    assertEquals(400, r.statusCode(), r.bodyAsString());
    assertEquals("invalid_delay", r.bodyAsJsonObject().getJsonObject("error").getString("code"));
  }

  @Test
  @DisplayName("a wrongly typed chat field is 400 naming it")
  void wrongChatType() throws Exception {
    HttpResponse<Buffer> r = post("/v1/chat/completions",
        "{\"model\":\"fake-model\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":\"hot\"}");
    assertEquals(400, r.statusCode(), r.bodyAsString());
    assertEquals("invalid_temperature", r.bodyAsJsonObject().getJsonObject("error").getString("code"));
  }

  private static String abbreviated(Object value) {
    String s = value.toString();
    return s.length() > 40 ? s.substring(0, 40) + "..." : s;
  }
}
