package dev.switchboard.model.spi;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
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
