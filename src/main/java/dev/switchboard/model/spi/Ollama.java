package dev.switchboard.model.spi;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * {@code ollama}: Ollama's native API ({@code /api/chat}, newline-delimited JSON when streaming),
 * for servers where the OpenAI-compatible layer is off or lags behind. The endpoint is the server's
 * base URL, e.g. {@code http://127.0.0.1:11434}. Shipped through the SPI to prove that a provider
 * type needs nothing from the dispatcher but this mapping.
 */
public final class Ollama implements ModelProvider {

  @Override
  public String type() {
    return "ollama";
  }

  @Override
  public Request chat(JsonObject openAi, String upstreamModel, boolean stream, boolean streamUsage) {
    JsonObject options = new JsonObject();
    copy(openAi, "temperature", options, "temperature");
    copy(openAi, "top_p", options, "top_p");
    copy(openAi, "max_tokens", options, "num_predict");
    copy(openAi, "max_completion_tokens", options, "num_predict");
    copy(openAi, "seed", options, "seed");
    if (openAi.getValue("stop") instanceof String s) {
      options.put("stop", new JsonArray().add(s));
    } else {
      copy(openAi, "stop", options, "stop");
    }
    JsonArray messages = new JsonArray();
    for (Object o : openAi.getJsonArray("messages", new JsonArray())) {
      if (o instanceof JsonObject m) {
        messages.add(new JsonObject().put("role", m.getString("role", "user")).put("content", text(m.getValue("content"))));
      }
    }
    JsonObject body = new JsonObject().put("model", upstreamModel).put("messages", messages).put("stream", stream);
    if (!options.isEmpty()) {
      body.put("options", options);
    }
    return new Request(HttpMethod.POST, "/api/chat", body.toBuffer());
  }

  @Override
  public Completion completion(Buffer body) {
    JsonObject answer = LargeJson.object(body);
    JsonObject message = answer.getJsonObject("message");
    if (message == null) {
      throw new IllegalArgumentException("no message in the answer");
    }
    Usage usage = new Usage(answer.getLong("prompt_eval_count", 0L), answer.getLong("eval_count", 0L));
    JsonObject completion = new JsonObject()
        .put("id", "chatcmpl-" + UUID.randomUUID())
        .put("object", "chat.completion")
        .put("created", created(answer))
        .put("model", answer.getString("model"))
        .put("choices", new JsonArray().add(new JsonObject()
            .put("index", 0)
            .put("message", new JsonObject().put("role", "assistant").put("content", message.getString("content", "")))
            .put("finish_reason", finishReason(answer))))
        .put("usage", usageJson(usage));
    return new Completion(completion.toBuffer(), usage);
  }

  @Override
  public StreamDecoder decoder(boolean clientWantsUsage) {
    String id = "chatcmpl-" + UUID.randomUUID();
    return new StreamDecoder() {
      private Buffer pending = Buffer.buffer();
      /** Bytes of the pending line already searched for its end: a long line is scanned once. */
      private int scanned;

      @Override
      public List<Event> feed(Buffer data) {
        pending.appendBuffer(data);
        List<Event> events = new ArrayList<>(2);
        int start = 0;
        for (int i = scanned; i < pending.length(); i++) {
          if (pending.getByte(i) == '\n') {
            line(pending.getString(start, i, "UTF-8"), events);
            start = i + 1;
          }
        }
        pending = start == 0 ? pending : pending.getBuffer(start, pending.length());
        scanned = pending.length();
        return events;
      }

      @Override
      public List<Event> end() {
        List<Event> events = new ArrayList<>(1);
        line(pending.toString(StandardCharsets.UTF_8), events);
        pending = Buffer.buffer();
        scanned = 0;
        return events;
      }

      private void line(String raw, List<Event> out) {
        String line = raw.trim();
        if (line.isEmpty()) {
          return;
        }
        JsonObject part = new JsonObject(line);
        if (part.getValue("error") != null) {
          throw new IllegalStateException("upstream stream error: " + part.getValue("error"));
        }
        String model = part.getString("model");
        long created = created(part);
        String content = part.getJsonObject("message", new JsonObject()).getString("content", "");
        boolean done = part.getBoolean("done", false);
        if (!content.isEmpty() || !done) {
          JsonObject delta = new JsonObject().put("content", content);
          out.add(new Event(sse(chunk(id, model, created, delta, null)), !content.isEmpty(), null, false));
        }
        if (done) {
          Usage usage = new Usage(part.getLong("prompt_eval_count", 0L), part.getLong("eval_count", 0L));
          out.add(new Event(sse(chunk(id, model, created, new JsonObject(), finishReason(part))), false, null, false));
          if (clientWantsUsage) {
            JsonObject usageChunk = new JsonObject().put("id", id).put("object", "chat.completion.chunk")
                .put("created", created).put("model", model).put("choices", new JsonArray()).put("usage", usageJson(usage));
            out.add(new Event(sse(usageChunk), false, usage, false));
          } else {
            out.add(new Event(null, false, usage, false));
          }
          out.add(new Event(Buffer.buffer("data: [DONE]\n\n"), false, null, true));
        }
      }
    };
  }

  @Override
  public Request listModels() {
    return new Request(HttpMethod.GET, "/api/tags", null);
  }

  @Override
  public JsonArray models(Buffer body) {
    JsonArray out = new JsonArray();
    for (Object o : LargeJson.object(body).getJsonArray("models", new JsonArray())) {
      if (o instanceof JsonObject m) {
        out.add(new JsonObject().put("id", m.getString("name")).put("object", "model")
            .put("created", Instant.now().getEpochSecond()).put("owned_by", "ollama"));
      }
    }
    return out;
  }

  @Override
  public Request probe(String probeKind, String model) {
    return listModels();
  }

  private static JsonObject chunk(String id, String model, long created, JsonObject delta, String finish) {
    return new JsonObject().put("id", id).put("object", "chat.completion.chunk").put("created", created)
        .put("model", model)
        .put("choices", new JsonArray().add(new JsonObject().put("index", 0).put("delta", delta).put("finish_reason", finish)));
  }

  private static Buffer sse(JsonObject chunk) {
    return Buffer.buffer("data: " + chunk.encode() + "\n\n");
  }

  private static JsonObject usageJson(Usage u) {
    return new JsonObject().put("prompt_tokens", u.promptTokens()).put("completion_tokens", u.completionTokens())
        .put("total_tokens", u.promptTokens() + u.completionTokens());
  }

  private static String finishReason(JsonObject answer) {
    return "length".equals(answer.getString("done_reason")) ? "length" : "stop";
  }

  private static long created(JsonObject answer) {
    try {
      return Instant.parse(answer.getString("created_at")).getEpochSecond();
    } catch (RuntimeException e) {
      return Instant.now().getEpochSecond();
    }
  }

  private static String text(Object content) {
    if (content instanceof String s) {
      return s;
    }
    StringBuilder out = new StringBuilder();
    if (content instanceof JsonArray parts) {
      for (Object p : parts) {
        if (p instanceof JsonObject part && "text".equals(part.getString("type"))) {
          out.append(part.getString("text", ""));
        }
      }
    }
    return out.toString();
  }

  private static void copy(JsonObject from, String key, JsonObject to, String as) {
    Object v = from.getValue(key);
    if (v != null) {
      to.put(as, v);
    }
  }
}
