package dev.switchboard.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

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
      big.put("field" + i, "x".repeat(200));
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
