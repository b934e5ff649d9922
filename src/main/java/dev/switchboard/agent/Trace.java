package dev.switchboard.agent;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * What one agent run did, in order: each model call, each tool call, and the budget that stopped
 * it if one did; {@code GET /api/v1/tasks/{id}} shows it under {@code trace}. The caller makes one
 * per run and hands it to {@link AgentRunner#answer(AgentRunner.Job, Trace)}, so that a run cut
 * short from outside (a task's timeout) still leaves what it did.
 *
 * <p>It is kept with the task, so it is bounded: at most {@link #MAX_STEPS} steps and
 * {@link #MAX_BYTES} of JSON; what does not fit is dropped and a last step says "trace cut". Tool
 * arguments are stored with the values of secret-looking keys replaced by {@code "[redacted]"}.
 */
public final class Trace {

  public static final int MAX_STEPS = 64;
  public static final int MAX_BYTES = 32 * 1024;
  /** A string argument longer than this is shortened in the trace (the skill got all of it). */
  static final int MAX_ARGUMENT_CHARS = 256;
  static final String REDACTED = "[redacted]";
  private static final Pattern SECRET = Pattern.compile("(?i)(key|token|secret|password|authorization|cookie)");
  // room kept for the closing "trace cut" step, so that adding it never breaks the bounds
  private static final int CUT_ROOM = 96;

  /** One step of the trace, as the API shows it. */
  public sealed interface Step permits ModelStep, ToolStep, Stopped {
    JsonObject json();
  }

  /**
   * One model call: the model and provider that answered (null when no deployment did), its
   * {@code usage} tokens (0 when the provider said none), and why it failed (null when it did not).
   */
  public record ModelStep(String model, String provider, long promptTokens, long completionTokens, long totalTokens,
                          long latencyMs, String error) implements Step {
    @Override
    public JsonObject json() {
      return new JsonObject().put("type", "model").put("model", model).put("provider", provider)
          .put("prompt_tokens", promptTokens).put("completion_tokens", completionTokens).put("total_tokens", totalTokens)
          .put("latency_ms", latencyMs).put("error", error);
    }
  }

  /**
   * One tool call: {@code arguments} already redacted (null when they were not a JSON object),
   * {@code resultBytes} the UTF-8 size of what the skill answered, {@code cut} whether that was
   * more than the model is given back.
   */
  public record ToolStep(String skill, JsonObject arguments, long resultBytes, long latencyMs, String error, boolean cut)
      implements Step {
    @Override
    public JsonObject json() {
      return new JsonObject().put("type", "tool").put("skill", skill).put("arguments", arguments)
          .put("result_bytes", resultBytes).put("latency_ms", latencyMs).put("error", error).put("cut", cut);
    }
  }

  /** The budget ({@code steps}, {@code wall}, {@code tokens}) that stopped the run, and the line the answer ends with. */
  public record Stopped(String budget, String reason) implements Step {
    @Override
    public JsonObject json() {
      return new JsonObject().put("type", "budget").put("budget", budget).put("reason", reason);
    }
  }

  private final List<JsonObject> steps = new ArrayList<>();
  private int bytes = 2;
  private int dropped;

  /** Adds a step, unless the trace is full (then it is counted as dropped). */
  public synchronized void add(Step step) {
    JsonObject json = step.json();
    int size = json.encode().getBytes(StandardCharsets.UTF_8).length + 1;
    if (dropped > 0 || steps.size() >= MAX_STEPS - 1 || bytes + size > MAX_BYTES - CUT_ROOM) {
      dropped++;
      return;
    }
    steps.add(json);
    bytes += size;
  }

  /** The steps so far, with a closing "trace cut" step when some were dropped; empty when none. */
  public synchronized JsonArray json() {
    JsonArray out = new JsonArray();
    steps.forEach(s -> out.add(s.copy()));
    if (dropped > 0) {
      out.add(new JsonObject().put("type", "cut").put("reason", "trace cut: " + dropped + " more steps not kept"));
    }
    return out;
  }

  /** Whether any model call was made (a run that made none leaves no trace). */
  public synchronized boolean isEmpty() {
    return steps.isEmpty() && dropped == 0;
  }

  /** A copy of {@code arguments} with secret-looking keys' values replaced, at any depth, and long strings shortened. */
  public static JsonObject redacted(JsonObject arguments) {
    return arguments == null ? null : (JsonObject) redact(arguments);
  }

  private static Object redact(Object value) {
    if (value instanceof JsonObject o) {
      JsonObject out = new JsonObject();
      for (Map.Entry<String, Object> e : o) {
        out.put(e.getKey(), SECRET.matcher(e.getKey()).find() ? REDACTED : redact(e.getValue()));
      }
      return out;
    }
    if (value instanceof JsonArray a) {
      JsonArray out = new JsonArray();
      a.forEach(v -> out.add(redact(v)));
      return out;
    }
    if (value instanceof String s && s.length() > MAX_ARGUMENT_CHARS) {
      // never half of a surrogate pair
      int end = Character.isHighSurrogate(s.charAt(MAX_ARGUMENT_CHARS - 1)) ? MAX_ARGUMENT_CHARS - 1 : MAX_ARGUMENT_CHARS;
      return s.substring(0, end) + "… (" + s.length() + " chars)";
    }
    return value;
  }
}
