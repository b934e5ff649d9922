package dev.switchboard.model.spi;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.vertx.core.json.jackson.JacksonCodec;
import java.io.IOException;
import java.util.Map;

/**
 * JSON documents of any size the gateway agreed to read. The dispatcher bounds every upstream body
 * ({@code limits.max_response_size}) before it gets here, so the parser's own limit on one string
 * (20 million characters by default) would only turn a long but allowed answer into a "malformed"
 * one.
 */
final class LargeJson {

  private static final JsonFactory FACTORY = JsonFactory.builder()
      .streamReadConstraints(StreamReadConstraints.builder().maxStringLength(Integer.MAX_VALUE).build())
      .build();

  private LargeJson() {
  }

  /**
   * What a chat completion's answer must show, read in one pass without building its tree (the
   * tree of every answer was a third of what the gateway allocated per call): whether
   * {@code choices} is an array, and the token counts of {@code usage} (null when it is absent or
   * null). Throws a {@link DecodeException} when the body is not one JSON object, or an
   * {@link IllegalArgumentException} when {@code usage} or its counts have the wrong type.
   */
  record CompletionShape(boolean choices, ModelProvider.Usage usage) {
  }

  static CompletionShape completionShape(Buffer body) {
    try (JsonParser parser = FACTORY.createParser(body.getBytes())) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        throw new DecodeException("not a JSON object");
      }
      boolean choices = false;
      ModelProvider.Usage usage = null;
      // a key given twice counts as the tree would read it: the last one wins
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        String name = parser.currentName();
        JsonToken value = parser.nextToken();
        if ("choices".equals(name)) {
          choices = value == JsonToken.START_ARRAY;
          parser.skipChildren();
        } else if ("usage".equals(name)) {
          usage = usage(parser, value);
        } else {
          parser.skipChildren();
        }
      }
      if (parser.nextToken() != null) {
        throw new DecodeException("unexpected content after the JSON object");
      }
      return new CompletionShape(choices, usage);
    } catch (IOException e) {
      throw new DecodeException("Failed to decode: " + e.getMessage(), e);
    }
  }

  private static ModelProvider.Usage usage(JsonParser parser, JsonToken value) throws IOException {
    if (value == JsonToken.VALUE_NULL) {
      return null;
    }
    if (value != JsonToken.START_OBJECT) {
      throw new IllegalArgumentException("usage is not an object");
    }
    long prompt = 0;
    long completion = 0;
    while (parser.nextToken() == JsonToken.FIELD_NAME) {
      String name = parser.currentName();
      JsonToken count = parser.nextToken();
      boolean wanted = "prompt_tokens".equals(name) || "completion_tokens".equals(name);
      if (wanted && count != JsonToken.VALUE_NULL) {
        if (!count.isNumeric()) {
          throw new IllegalArgumentException("usage." + name + " is not a number");
        }
        long n = parser.getNumberValue().longValue();
        if ("prompt_tokens".equals(name)) {
          prompt = n;
        } else {
          completion = n;
        }
      } else if (wanted) {
        if ("prompt_tokens".equals(name)) {
          prompt = 0;
        } else {
          completion = 0;
        }
      } else {
        parser.skipChildren();
      }
    }
    return new ModelProvider.Usage(prompt, completion);
  }

  /** The body as a JSON object; throws a {@link DecodeException} when it is not one. */
  @SuppressWarnings("unchecked")
  static JsonObject object(Buffer body) {
    Object value;
    try {
      JsonParser parser = FACTORY.createParser(body.getBytes());
      value = JacksonCodec.fromParser(parser, Object.class);
    } catch (IOException e) {
      throw new DecodeException("Failed to decode: " + e.getMessage(), e);
    }
    if (value instanceof JsonObject object) {
      return object;
    }
    if (value instanceof Map<?, ?> map) {
      return new JsonObject((Map<String, Object>) map);
    }
    throw new DecodeException("not a JSON object");
  }
}
