package dev.switchboard.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@DisplayName("An agent run's trace")
class TraceTest {

  @Test
  @DisplayName("values of secret-looking keys are redacted at any depth, in objects inside arrays too; other values stay")
  void redactsRecursively() {
    JsonObject args = new JsonObject().put("url", "https://example.com").put("API_KEY", "sk-1")
        .put("headers", new JsonObject().put("Authorization", "Bearer x").put("Accept", "text/plain"))
        .put("cookies", new JsonArray().add("a=b"))
        .put("items", new JsonArray().add(new JsonObject().put("refresh_token", "t").put("name", "n")).add(3))
        .put("db", new JsonObject().put("Password", new JsonObject().put("nested", "secret")));
    JsonObject expected = new JsonObject().put("url", "https://example.com").put("API_KEY", "[redacted]")
        .put("headers", new JsonObject().put("Authorization", "[redacted]").put("Accept", "text/plain"))
        .put("cookies", "[redacted]")
        .put("items", new JsonArray().add(new JsonObject().put("refresh_token", "[redacted]").put("name", "n")).add(3))
        .put("db", new JsonObject().put("Password", "[redacted]"));
    assertEquals(expected, Trace.redacted(args));
    assertEquals("sk-1", args.getString("API_KEY"), "the skill's own arguments are not touched");
  }

  @Test
  @DisplayName("secrets inside strings are redacted: URL query parameters, user:password@ in URLs, Bearer and Basic credentials")
  void redactsSecretsInsideStrings() {
    JsonObject args = new JsonObject()
        .put("url", "https://ada:pa55@api.example.com/v1/status?q=weather&token=t0k3n&API_KEY=k3y#top")
        .put("body", "grant_type=refresh&client_secret=c5ecret&scope=read")
        .put("json", "{\"user\":\"ada\",\"password\":\"hunt\\\"er2\",\"n\":1}")
        .put("note", "send it with Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig and Basic QWxhZGRpbjpPcGVu");
    String shown = Trace.redacted(args).encode();
    for (String secret : new String[] {"pa55", "t0k3n", "k3y", "c5ecret", "eyJhbGciOiJIUzI1NiJ9", "QWxhZGRpbjpPcGVu", "hunt", "er2"}) {
      assertFalse(shown.contains(secret), secret + " in " + shown);
    }
    JsonObject redacted = Trace.redacted(args);
    assertEquals("https://[redacted]@api.example.com/v1/status?q=weather&token=[redacted]&API_KEY=[redacted]#top",
        redacted.getString("url"));
    assertEquals("grant_type=refresh&client_secret=[redacted]&scope=read", redacted.getString("body"));
    assertEquals("{\"user\":\"ada\",\"password\":\"[redacted]\",\"n\":1}", redacted.getString("json"));
    assertEquals("basic usage, a token budget", Trace.redacted(new JsonObject().put("t", "basic usage, a token budget"))
        .getString("t"), "words are not credentials");
  }

  @Test
  @DisplayName("header names that carry credentials are redacted whatever their spelling: X-Auth, x-api-key, Proxy-Authorization, Set-Cookie")
  void redactsCredentialHeaders() {
    JsonObject headers = new JsonObject().put("X-Auth", "a1").put("x-api-key", "a2").put("Proxy-Authorization", "a3")
        .put("Set-Cookie", "a4").put("X-Session-Id", "a5").put("X-Credentials", "a6").put("passwd", "a7")
        .put("Accept", "text/plain").put("author", "Lu Xun");
    JsonObject shown = Trace.redacted(new JsonObject().put("headers", headers)).getJsonObject("headers");
    assertEquals(new JsonObject().put("X-Auth", "[redacted]").put("x-api-key", "[redacted]")
        .put("Proxy-Authorization", "[redacted]").put("Set-Cookie", "[redacted]").put("X-Session-Id", "[redacted]")
        .put("X-Credentials", "[redacted]").put("passwd", "[redacted]").put("Accept", "text/plain").put("author", "Lu Xun"),
        shown);
  }

  @Test
  @DisplayName("a step's error is redacted like the arguments (a skill may echo the URL it was given)")
  void redactsErrors() {
    Trace trace = new Trace();
    trace.add(new Trace.ToolStep("http_fetch", new JsonObject(), 0, 1,
        "not a URL: Illegal character in query at index 40: https://api.example.com/?access_token=zz9 x", false));
    trace.add(new Trace.ModelStep("m", "p", 0, 0, 0, 1, "401 invalid credentials: Bearer sk-live-77"));
    String shown = trace.json().encode();
    assertFalse(shown.contains("zz9"), shown);
    assertFalse(shown.contains("sk-live-77"), shown);
    assertTrue(shown.contains("access_token=[redacted]"), shown);
  }

  @Test
  @DisplayName("one huge step (a long error, a long made-up tool name, big arguments) is shortened, not a reason to drop the steps after it")
  void oneHugeStepIsShortened() {
    Trace trace = new Trace();
    trace.add(new Trace.ModelStep("m", "p", 1, 1, 2, 1, null));
    JsonArray numbers = new JsonArray();
    for (int i = 0; i < 20_000; i++) {
      numbers.add(i);
    }
    trace.add(new Trace.ToolStep("x".repeat(100_000), Trace.redacted(new JsonObject().put("numbers", numbers)), 5, 1,
        "e".repeat(100_000), false));
    trace.add(new Trace.ModelStep("m".repeat(50_000), "p".repeat(50_000), 1, 1, 2, 1, "f".repeat(100_000)));
    trace.add(new Trace.ModelStep("m", "p", 1, 1, 2, 1, null));
    JsonArray json = trace.json();
    assertEquals(List.of("model", "tool", "model", "model"), json.stream().map(s -> ((JsonObject) s).getString("type")).toList());
    assertTrue(json.encode().getBytes(StandardCharsets.UTF_8).length <= Trace.MAX_BYTES, "within the bound");
    JsonObject tool = json.getJsonObject(1);
    assertTrue(tool.getString("error").endsWith("(100000 chars)"), tool.getString("error").substring(0, 50));
    assertTrue(tool.getJsonObject("arguments").encode().length() < 4 * 1024, "the arguments are shortened too");
  }

  @Test
  // a bound against a hang, not a measure: scanning all of it took minutes (quadratic in the length)
  @Timeout(60)
  @DisplayName("a huge string argument or error is redacted in the part the trace shows, without scanning all of it")
  void hugeStringsRedactedInTheShownPart() {
    String huge = "https://api.example.com/?api_key=k-123&q=" + "a.".repeat(500_000);
    String shown = Trace.redacted(new JsonObject().put("url", huge)).getString("url");
    assertTrue(shown.startsWith("https://api.example.com/?api_key=[redacted]&q=a.a."), shown);
    assertTrue(shown.endsWith("(" + huge.length() + " chars)"), shown);
    Trace trace = new Trace();
    trace.add(new Trace.ToolStep("http_fetch", new JsonObject(), 0, 1, "Bearer t-456789 " + "b.".repeat(500_000), false));
    String error = trace.json().getJsonObject(0).getString("error");
    assertTrue(error.startsWith("Bearer [redacted] b.b."), error.substring(0, 40));
  }

  @Test
  @DisplayName("a long string argument is shortened in the trace, never splitting a character")
  void longArgumentsShortened() {
    String text = "a".repeat(Trace.MAX_ARGUMENT_CHARS - 1) + "😀" + "b".repeat(100);
    String kept = Trace.redacted(new JsonObject().put("text", text)).getString("text");
    assertTrue(kept.startsWith("a".repeat(Trace.MAX_ARGUMENT_CHARS - 1) + "…"), kept);
    assertTrue(kept.endsWith("(" + text.length() + " chars)"), kept);
  }

  @Test
  @DisplayName("more than 64 steps: the first ones are kept and a last step says the trace was cut")
  void boundedInSteps() {
    Trace trace = new Trace();
    for (int i = 0; i < 100; i++) {
      trace.add(new Trace.ModelStep("m", "p", 1, 1, 2, i, null));
    }
    JsonArray json = trace.json();
    assertEquals(Trace.MAX_STEPS, json.size());
    assertEquals(0, json.getJsonObject(0).getLong("latency_ms"));
    JsonObject last = json.getJsonObject(json.size() - 1);
    assertEquals("cut", last.getString("type"));
    assertTrue(last.getString("reason").startsWith("trace cut: 37 more steps"), last.encode());
  }

  @Test
  @DisplayName("large steps: the trace stays within 32 KB of JSON and says it was cut")
  void boundedInBytes() {
    Trace trace = new Trace();
    JsonObject big = new JsonObject();
    for (int i = 0; i < 20; i++) {
      big.put("field" + i, "x".repeat(150));
    }
    for (int i = 0; i < 40; i++) {
      trace.add(new Trace.ToolStep("s", Trace.redacted(big), 10, 1, null, false));
    }
    JsonArray json = trace.json();
    assertTrue(json.encode().getBytes(StandardCharsets.UTF_8).length <= Trace.MAX_BYTES, "within the bound");
    assertTrue(json.size() < 40);
    assertEquals("cut", json.getJsonObject(json.size() - 1).getString("type"));
  }

  @Test
  @DisplayName("a run that made no call leaves an empty trace")
  void emptyWhenNothingHappened() {
    Trace trace = new Trace();
    assertTrue(trace.isEmpty());
    assertEquals(new JsonArray(), trace.json());
  }
}
