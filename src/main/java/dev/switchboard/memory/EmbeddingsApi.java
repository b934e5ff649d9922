package dev.switchboard.memory;

import dev.switchboard.bus.Failure;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * {@code POST /v1/embeddings} in OpenAI's terms: the request checked field by field (a client's
 * mistake is a 400 that names the field, never a 500 from deep inside a model), and the vectors
 * in OpenAI's answer shape, as JSON numbers or, with {@code encoding_format: "base64"} (what the
 * official SDKs ask for by default), as base64 of little-endian float32, as OpenAI sends them.
 */
final class EmbeddingsApi {

  /** OpenAI's own limit on inputs per request. */
  static final int MAX_INPUTS = 2048;
  /** Characters per input: the same bound as a memory's content. */
  static final int MAX_CHARS = LongTermMemory.MAX_CONTENT;

  /** A checked request: the texts in order, and how the vectors are to be written. */
  record Request(List<String> texts, boolean base64, Integer dimensions) {
  }

  private EmbeddingsApi() {
  }

  /** Checks {@code body} against what {@code embedder} serves; throws a 400 {@link Failure} naming the field at fault. */
  static Request parse(JsonObject body, Embedder embedder) {
    checkModel(body.getValue("model"), embedder.names());
    Object format = body.getValue("encoding_format");
    boolean base64 = "base64".equals(format);
    if (format != null && !base64 && !"float".equals(format)) {
      throw Failure.badRequest("invalid_encoding_format", "'encoding_format' must be \"float\" or \"base64\", got " + json(format));
    }
    Object user = body.getValue("user");
    if (user != null && !(user instanceof String)) {
      throw Failure.badRequest("invalid_user", "'user' must be a string");
    }
    return new Request(texts(body.getValue("input")), base64, dimensions(body.getValue("dimensions")));
  }

  private static void checkModel(Object model, List<String> served) {
    String offer = "this gateway serves " + served.get(0)
        + (served.size() > 1 ? " (also called " + String.join(", ", served.subList(1, served.size())) + ")" : "");
    if (model == null || model instanceof String s && s.isBlank()) {
      throw Failure.badRequest("missing_model", "you must provide a model parameter; " + offer);
    }
    if (!(model instanceof String name)) {
      throw Failure.badRequest("invalid_model", "'model' must be a string; " + offer);
    }
    if (!served.contains(name)) {
      // answering with another model's vectors would mix incomparable vectors in the client's index
      throw Failure.badRequest("model_not_found", "model '" + name + "' is not served for embeddings; " + offer);
    }
  }

  private static List<String> texts(Object input) {
    if (input == null) {
      throw Failure.badRequest("invalid_input", "'input' is required: a string or an array of strings");
    }
    if (input instanceof String s) {
      return List.of(checkText(s, "'input'"));
    }
    if (!(input instanceof JsonArray array)) {
      throw Failure.badRequest("invalid_input", "'input' must be a string or an array of strings, got " + kind(input));
    }
    if (array.isEmpty()) {
      throw Failure.badRequest("invalid_input", "'input' is an empty array: send at least one string");
    }
    if (array.stream().allMatch(EmbeddingsApi::tokenIds) || array.stream().allMatch(x -> x instanceof Number)) {
      throw Failure.badRequest("invalid_input", "'input' as token ids is not supported: send the text itself "
          + "(a string or an array of strings)");
    }
    if (array.size() > MAX_INPUTS) {
      throw Failure.badRequest("invalid_input", "'input' has " + array.size() + " items; at most " + MAX_INPUTS + " per request");
    }
    List<String> texts = new ArrayList<>(array.size());
    for (int i = 0; i < array.size(); i++) {
      if (!(array.getValue(i) instanceof String s)) {
        throw Failure.badRequest("invalid_input", "'input[" + i + "]' must be a string, got " + kind(array.getValue(i)));
      }
      texts.add(checkText(s, "'input[" + i + "]'"));
    }
    return texts;
  }

  /** OpenAI also takes texts already tokenized, as arrays of token ids: ids of its own tokenizer, not ours. */
  private static boolean tokenIds(Object item) {
    return item instanceof JsonArray a && !a.isEmpty() && a.stream().allMatch(x -> x instanceof Number);
  }

  private static String checkText(String text, String name) {
    if (text.isEmpty()) {
      throw Failure.badRequest("invalid_input", name + " is an empty string");
    }
    if (text.length() > MAX_CHARS) {
      throw Failure.badRequest("invalid_input", name + " is " + text.length() + " characters; at most " + MAX_CHARS);
    }
    if (!Embedder.hasText(text)) {
      throw Failure.badRequest("invalid_input", name + " has no text to embed (only white space, control or invisible characters)");
    }
    return text;
  }

  private static Integer dimensions(Object value) {
    if (value == null) {
      return null;
    }
    if (!(value instanceof Integer || value instanceof Long) || ((Number) value).longValue() < 1) {
      throw Failure.badRequest("invalid_dimensions", "'dimensions' must be a positive integer, got " + json(value));
    }
    return (int) Math.min(Integer.MAX_VALUE, ((Number) value).longValue());
  }

  /**
   * A 400 unless the requested {@code dimensions} (when given) are the model's own. Cutting a
   * vector short is only meaningful for models trained for it (OpenAI's text-embedding-3), which
   * the local model is not, so other sizes are refused rather than approximated.
   */
  static void checkDimensions(Request request, Embedder embedder) {
    Integer wanted = request.dimensions();
    if (wanted != null && wanted != embedder.dimensions()) {
      throw Failure.badRequest("invalid_dimensions", "'dimensions' is " + wanted + ", but " + embedder.names().get(0)
          + " makes vectors of " + embedder.dimensions() + " dimensions and cannot shorten them; leave 'dimensions' out or send "
          + embedder.dimensions());
    }
  }

  /** OpenAI's answer: one {@code embedding} item per text, in order, and a usage estimate. */
  static JsonObject answer(Request request, List<float[]> vectors, String model) {
    JsonArray data = new JsonArray();
    int tokens = 0;
    for (int i = 0; i < vectors.size(); i++) {
      float[] v = vectors.get(i);
      Object embedding;
      if (request.base64()) {
        embedding = base64(v);
      } else {
        JsonArray values = new JsonArray(new ArrayList<>(v.length));
        for (float f : v) {
          values.add(f);
        }
        embedding = values;
      }
      data.add(new JsonObject().put("object", "embedding").put("index", i).put("embedding", embedding));
      tokens += ShortTermMemory.tokens(request.texts().get(i)) - 4;
    }
    return new JsonObject().put("object", "list").put("data", data).put("model", model)
        .put("usage", new JsonObject().put("prompt_tokens", tokens).put("total_tokens", tokens));
  }

  /** The vector as OpenAI's {@code base64} encoding has it: little-endian IEEE 754 float32s, base64 with padding. */
  static String base64(float[] vector) {
    ByteBuffer bytes = ByteBuffer.allocate(vector.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    bytes.asFloatBuffer().put(vector);
    return Base64.getEncoder().encodeToString(bytes.array());
  }

  private static String kind(Object value) {
    if (value instanceof JsonObject) {
      return "an object";
    }
    if (value instanceof JsonArray) {
      return "an array";
    }
    if (value instanceof Number) {
      return "a number";
    }
    if (value instanceof Boolean) {
      return "a boolean";
    }
    return value == null ? "null" : "a " + value.getClass().getSimpleName();
  }

  private static String json(Object value) {
    String text = value instanceof String s ? "\"" + s + "\"" : value instanceof JsonObject || value instanceof JsonArray ? kind(value)
        : String.valueOf(value);
    return text.length() > 40 ? text.substring(0, 40) + "..." : text;
  }
}
