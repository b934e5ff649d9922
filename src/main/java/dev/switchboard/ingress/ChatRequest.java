package dev.switchboard.ingress;

import dev.switchboard.bus.Failure;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.math.BigDecimal;
import java.math.BigInteger;

/**
 * The types of a chat completion request's documented fields, checked at the edge as OpenAI
 * does: a client that sends {@code "temperature": "hot"} learns it from a 400 naming the field,
 * not from a 500 or an upstream's puzzled answer. Optional fields may be null (not set).
 * Values are not judged beyond their type and range; the upstream knows its own limits.
 */
public final class ChatRequest {

  private ChatRequest() {
  }

  public static void check(JsonObject body) {
    Object model = body.getValue("model");
    if (!(model instanceof String m) || m.isBlank()) {
      throw Failure.badRequest("missing_model", "you must provide a model parameter");
    }
    if (!(body.getValue("messages") instanceof JsonArray messages) || messages.isEmpty()) {
      throw Failure.badRequest("missing_messages", "'messages' must be a non-empty array");
    }
    for (int i = 0; i < messages.size(); i++) {
      message(messages.getValue(i), i);
    }
    Object stream = body.getValue("stream");
    if (stream != null && !(stream instanceof Boolean)) {
      throw Failure.badRequest("invalid_stream", "'stream' must be true or false");
    }
    Object options = body.getValue("stream_options");
    if (options != null && !(options instanceof JsonObject o && (o.getValue("include_usage") == null
        || o.getValue("include_usage") instanceof Boolean))) {
      throw Failure.badRequest("invalid_stream_options", "'stream_options' must be an object whose include_usage is true or false");
    }
    for (String field : new String[] {"temperature", "top_p", "presence_penalty", "frequency_penalty"}) {
      if (body.getValue(field) != null && !(body.getValue(field) instanceof Number)) {
        throw invalid(field, "must be a number");
      }
    }
    for (String field : new String[] {"max_tokens", "max_completion_tokens", "n", "top_logprobs"}) {
      wholeNumber(body.getValue(field), field, 0, Integer.MAX_VALUE);
    }
    wholeNumber(body.getValue("seed"), "seed", Long.MIN_VALUE, Long.MAX_VALUE);
    Object stop = body.getValue("stop");
    if (stop != null && !(stop instanceof String)
        && !(stop instanceof JsonArray a && a.stream().allMatch(s -> s instanceof String))) {
      throw invalid("stop", "must be a string or an array of strings");
    }
    Object tools = body.getValue("tools");
    if (tools != null && !(tools instanceof JsonArray a && a.stream().allMatch(t -> t instanceof JsonObject))) {
      throw invalid("tools", "must be an array of tool objects");
    }
    Object toolChoice = body.getValue("tool_choice");
    if (toolChoice != null && !(toolChoice instanceof String) && !(toolChoice instanceof JsonObject)) {
      throw invalid("tool_choice", "must be a string (none, auto, required) or an object naming a tool");
    }
    for (String field : new String[] {"user"}) {
      if (body.getValue(field) != null && !(body.getValue(field) instanceof String)) {
        throw invalid(field, "must be a string");
      }
    }
    for (String field : new String[] {"logprobs", "parallel_tool_calls"}) {
      if (body.getValue(field) != null && !(body.getValue(field) instanceof Boolean)) {
        throw invalid(field, "must be true or false");
      }
    }
    for (String field : new String[] {"response_format", "logit_bias", "metadata"}) {
      if (body.getValue(field) != null && !(body.getValue(field) instanceof JsonObject)) {
        throw invalid(field, "must be an object");
      }
    }
  }

  private static void message(Object value, int i) {
    if (!(value instanceof JsonObject m)) {
      throw Failure.badRequest("invalid_messages", "messages[" + i + "] must be an object with a 'role'");
    }
    if (!(m.getValue("role") instanceof String role) || role.isBlank()) {
      throw Failure.badRequest("invalid_messages", "messages[" + i + "].role must be a string (system, user, assistant, tool)");
    }
    Object content = m.getValue("content");
    if (content != null && !(content instanceof String) && !(content instanceof JsonArray)) {
      throw Failure.badRequest("invalid_messages", "messages[" + i + "].content must be a string or an array of content parts");
    }
    if (m.getValue("name") != null && !(m.getValue("name") instanceof String)) {
      throw Failure.badRequest("invalid_messages", "messages[" + i + "].name must be a string");
    }
  }

  private static void wholeNumber(Object value, String field, long min, long max) {
    if (value == null) {
      return;
    }
    BigDecimal n;
    if (value instanceof Integer || value instanceof Long || value instanceof Short || value instanceof Byte) {
      n = BigDecimal.valueOf(((Number) value).longValue());
    } else if (value instanceof BigInteger b) {
      n = new BigDecimal(b);
    } else if (value instanceof BigDecimal d) {
      n = d;
    } else if (value instanceof Number d && Double.isFinite(d.doubleValue())) {
      n = BigDecimal.valueOf(d.doubleValue());
    } else {
      throw invalid(field, "must be a whole number");
    }
    if (n.stripTrailingZeros().scale() > 0) {
      throw invalid(field, "must be a whole number");
    }
    if (n.compareTo(BigDecimal.valueOf(min)) < 0 || n.compareTo(BigDecimal.valueOf(max)) > 0) {
      throw invalid(field, "must be a whole number from " + min + " to " + max);
    }
  }

  private static Failure invalid(String field, String problem) {
    return Failure.badRequest("invalid_" + field, "'" + field + "' " + problem);
  }
}
