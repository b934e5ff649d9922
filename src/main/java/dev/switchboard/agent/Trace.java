package dev.switchboard.agent;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What one agent run did, in order: each model call, each tool call, and the budget that stopped
 * it if one did; {@code GET /api/v1/tasks/{id}} shows it under {@code trace}. The caller makes one
 * per run and hands it to {@link AgentRunner#answer(AgentRunner.Job, Trace)}, so that a run cut
 * short from outside (a task's timeout) still leaves what it did.
 *
 * <p>It is kept with the task, so it is bounded: at most {@link #MAX_STEPS} steps and
 * {@link #MAX_BYTES} of JSON, and each step is shortened so that one cannot crowd out the rest; what
 * does not fit is dropped and a last step says "trace cut". Tool arguments are stored with the values
 * of secret-looking keys replaced by {@code "[redacted]"}, and so are the secrets inside strings and
 * errors (URL credentials and query parameters, JSON members, Bearer and Basic credentials).
 */
public final class Trace {

  public static final int MAX_STEPS = 64;
  public static final int MAX_BYTES = 32 * 1024;
  /** A string argument longer than this is shortened in the trace (the skill got all of it). */
  static final int MAX_ARGUMENT_CHARS = 256;
  /** An error's words longer than this are shortened in the trace. */
  static final int MAX_ERROR_CHARS = 1024;
  /** A tool call's arguments whose JSON is longer than this are replaced by a note of their size. */
  static final int MAX_ARGUMENTS_BYTES = 4 * 1024;
  static final String REDACTED = "[redacted]";
  // "auth" but not "author(s)"; "passw" for password, passwd; session ids and signatures are credentials too
  private static final Pattern SECRET = Pattern.compile(
      "(?i)(key|token|secret|passw|passphrase|pwd|auth(?!ors?(?![a-z]))|credential|cookie|session|signature)");
  // inside any string (a URL, a request body, an error that echoes them): user:password@ of a URL,
  // name=value of a query or form and "name": "value" of JSON text whose name looks secret, and the
  // credentials after Bearer or Basic ("basic" in prose is not followed by a token68)
  private static final Pattern USER_INFO = Pattern.compile("(?i)\\b([a-z][a-z0-9+.-]*+://)[^/?#@\\s]+@");
  private static final Pattern PARAMETER = Pattern.compile("(^|[?&;\\s])([^=&;#?\\s]+)=([^&;#\\s]*)");
  private static final Pattern JSON_MEMBER = Pattern.compile("(\"((?:[^\"\\\\]|\\\\.){1,200})\"\\s*:\\s*)\"(?:[^\"\\\\]|\\\\.)*\"");
  private static final Pattern SCHEME_CREDENTIALS = Pattern.compile("\\b((?i:bearer)|Basic)\\s+[A-Za-z0-9._~+/-]{6,}=*");
  // characters past the shown part that are still scanned for secrets (a long token, a URL's query)
  private static final int SCRUB_MARGIN = 512;
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
    // bounded and redacted here, so that no step can take the room of the ones after it
    public ModelStep {
      model = shortened(model, MAX_ARGUMENT_CHARS);
      provider = shortened(provider, MAX_ARGUMENT_CHARS);
      error = shown(error, MAX_ERROR_CHARS);
    }

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
    // the name is the model's word (a made-up one is shown too), the error may echo the arguments
    public ToolStep {
      skill = shortened(skill, MAX_ARGUMENT_CHARS);
      error = shown(error, MAX_ERROR_CHARS);
      if (arguments != null) {
        int size = arguments.encode().getBytes(StandardCharsets.UTF_8).length;
        if (size > MAX_ARGUMENTS_BYTES) {
          arguments = new JsonObject().put("[cut]", "arguments of " + size + " bytes not kept");
        }
      }
    }

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

  /** A copy of {@code arguments} with secret-looking keys' values and the secrets in strings replaced, at any depth, and long strings shortened. */
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
    if (value instanceof String s) {
      return shown(s, MAX_ARGUMENT_CHARS);
    }
    return value;
  }

  /** The text with the secrets that strings carry (in URLs, queries, forms, authentication headers) replaced. */
  static String scrubbed(String text) {
    if (text == null || text.isEmpty()) {
      return text;
    }
    String out = USER_INFO.matcher(text).replaceAll("$1" + REDACTED + "@");
    Matcher m = PARAMETER.matcher(out);
    StringBuilder kept = new StringBuilder();
    while (m.find()) {
      String replacement = SECRET.matcher(m.group(2)).find() ? m.group(1) + m.group(2) + "=" + REDACTED : m.group();
      m.appendReplacement(kept, Matcher.quoteReplacement(replacement));
    }
    m.appendTail(kept);
    m = JSON_MEMBER.matcher(kept.toString());
    kept = new StringBuilder();
    while (m.find()) {
      String replacement = SECRET.matcher(m.group(2)).find() ? m.group(1) + "\"" + REDACTED + "\"" : m.group();
      m.appendReplacement(kept, Matcher.quoteReplacement(replacement));
    }
    m.appendTail(kept);
    return SCHEME_CREDENTIALS.matcher(kept).replaceAll("$1 " + REDACTED);
  }

  /**
   * The text as the trace shows it: redacted and cut to {@code max} characters. Only the part that
   * can be shown is scanned (with a margin, so a secret that straddles the cut is still found): a
   * model can send megabytes, and the patterns must not hold the event loop over them.
   */
  static String shown(String text, int max) {
    if (text == null) {
      return null;
    }
    boolean longer = text.length() > max + SCRUB_MARGIN;
    String head = scrubbed(longer ? text.substring(0, max + SCRUB_MARGIN) : text);
    if (!longer && head.length() <= max) {
      return head;
    }
    int end = Math.min(max, head.length());
    // never half of a surrogate pair
    if (end > 0 && Character.isHighSurrogate(head.charAt(end - 1))) {
      end--;
    }
    return head.substring(0, end) + "… (" + text.length() + " chars)";
  }

  /** The text cut to {@code max} characters with its length said; never half of a surrogate pair. */
  static String shortened(String text, int max) {
    if (text == null || text.length() <= max) {
      return text;
    }
    int end = Character.isHighSurrogate(text.charAt(max - 1)) ? max - 1 : max;
    return text.substring(0, end) + "… (" + text.length() + " chars)";
  }
}
