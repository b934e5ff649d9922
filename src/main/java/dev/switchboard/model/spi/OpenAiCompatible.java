package dev.switchboard.model.spi;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code api_gateway}: any OpenAI-compatible endpoint (DeepSeek, DashScope, Zhipu, Moonshot,
 * SiliconFlow, vLLM, Ollama's /v1, llama.cpp server). Answers pass through byte for byte; they are
 * parsed only to check them and to read usage.
 */
public final class OpenAiCompatible implements ModelProvider {

  private static final Buffer DONE = Buffer.buffer("data: [DONE]\n\n");

  @Override
  public String type() {
    return "api_gateway";
  }

  @Override
  public Request chat(JsonObject openAiBody, String upstreamModel, boolean stream, boolean streamUsage) {
    JsonObject body = openAiBody.copy().put("model", upstreamModel);
    if (stream && streamUsage) {
      JsonObject options = body.getJsonObject("stream_options", new JsonObject()).copy();
      body.put("stream_options", options.put("include_usage", true));
    }
    return new Request(HttpMethod.POST, "/chat/completions", body.toBuffer());
  }

  @Override
  public Completion completion(Buffer body) {
    LargeJson.CompletionShape shape = LargeJson.completionShape(body);
    if (!shape.choices()) {
      throw new IllegalArgumentException("no choices in the answer");
    }
    return new Completion(body, shape.usage() == null ? Usage.NONE : shape.usage());
  }

  @Override
  public StreamDecoder decoder(boolean clientWantsUsage) {
    return new SseDecoder(clientWantsUsage);
  }

  @Override
  public Request listModels() {
    return new Request(HttpMethod.GET, "/models", null);
  }

  @Override
  public JsonArray models(Buffer body) {
    return LargeJson.object(body).getJsonArray("data", new JsonArray());
  }

  @Override
  public Request probe(String probeKind, String model) {
    if ("completion".equals(probeKind)) {
      JsonObject body = new JsonObject().put("model", model).put("max_tokens", 1).put("stream", false)
          .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "ping")));
      return new Request(HttpMethod.POST, "/chat/completions", body.toBuffer());
    }
    return listModels();
  }

  /** An event for the client; a payload that came on several data lines keeps one prefix per line. */
  static Buffer sse(String payload) {
    String data = payload.indexOf('\n') < 0 ? payload : payload.replace("\n", "\ndata: ");
    return Buffer.buffer("data: " + data + "\n\n");
  }

  /** Splits SSE on blank lines, checks each event's JSON, and notes tokens and usage. */
  static final class SseDecoder implements StreamDecoder {

    private final boolean clientWantsUsage;
    private Buffer pending = Buffer.buffer();
    /** Where the search for the end of the pending event goes on: bytes before it were looked at. */
    private int scanned;
    private boolean tokenSeen;

    SseDecoder(boolean clientWantsUsage) {
      this.clientWantsUsage = clientWantsUsage;
    }

    @Override
    public List<Event> feed(Buffer data) {
      pending.appendBuffer(data);
      List<Event> events = new ArrayList<>(2);
      int start = 0;
      int length = pending.length();
      // the bytes not yet looked at, copied once to scan: Buffer.getByte checks bounds and reference
      // counts on every byte, which made this scan a hot spot of streaming. An event arriving in many
      // pieces is scanned once, not once per piece (three bytes back: a separator may straddle two pieces)
      int from = Math.max(0, scanned - 3);
      byte[] bytes = pending.getBytes(from, length);
      for (int i = from; i + 1 < length; i++) {
        byte b = bytes[i - from];
        if (b == '\n' && bytes[i + 1 - from] == '\n') {
          decode(pending.getString(start, i, "UTF-8"), events);
          start = i + 2;
          i++;
        } else if (b == '\r' && i + 3 < length && bytes[i + 1 - from] == '\n'
            && bytes[i + 2 - from] == '\r' && bytes[i + 3 - from] == '\n') {
          decode(pending.getString(start, i, "UTF-8"), events);
          start = i + 4;
          i += 3;
        }
      }
      pending = start == 0 ? pending : pending.getBuffer(start, length);
      scanned = pending.length();
      return events;
    }

    @Override
    public List<Event> end() {
      List<Event> events = new ArrayList<>(1);
      String rest = pending.toString(StandardCharsets.UTF_8).trim();
      pending = Buffer.buffer();
      scanned = 0;
      if (!rest.isEmpty()) {
        decode(rest, events);
      }
      return events;
    }

    private void decode(String event, List<Event> out) {
      StringBuilder data = null;
      int start = 0;
      while (start < event.length()) {
        int end = event.indexOf('\n', start);
        end = end < 0 ? event.length() : end;
        int stop = end > start && event.charAt(end - 1) == '\r' ? end - 1 : end;
        if (event.startsWith("data:", start)) {
          int from = start + 5 < stop && event.charAt(start + 5) == ' ' ? start + 6 : start + 5;
          String value = event.substring(Math.min(from, stop), stop);
          data = data == null ? new StringBuilder(value) : data.append('\n').append(value);
        }
        start = end + 1;
      }
      if (data == null) {
        return; // comments and keep-alives carry nothing for the client
      }
      String payload = data.toString().trim();
      if ("[DONE]".equals(payload)) {
        out.add(new Event(DONE, false, null, true));
        return;
      }
      if (tokenSeen && payload.indexOf("\"usage\"") < 0 && payload.indexOf("\"error\"") < 0) {
        // after the first token the stream is the client's and cannot fail over: only usage and
        // errors still matter, so ordinary chunks pass without being parsed
        out.add(new Event(sse(payload), false, null, false));
        return;
      }
      JsonObject chunk = new JsonObject(payload);
      if (chunk.getValue("error") instanceof JsonObject error) {
        throw new IllegalStateException("upstream stream error: " + error.getString("message", error.encode()));
      }
      Usage usage = chunk.getValue("usage") instanceof JsonObject u ? Usage.of(u) : null;
      JsonArray choices = chunk.getJsonArray("choices");
      boolean token = false;
      if (choices != null) {
        for (Object c : choices) {
          if (c instanceof JsonObject choice && choice.getValue("delta") instanceof JsonObject delta) {
            Object content = delta.getValue("content");
            Object reasoning = delta.getValue("reasoning_content");
            token |= content instanceof String s && !s.isEmpty()
                || reasoning instanceof String r && !r.isEmpty()
                || delta.getValue("tool_calls") != null;
          }
        }
      }
      tokenSeen |= token;
      // the usage-only chunk that we asked for on the client's behalf stays with us
      boolean forward = clientWantsUsage || usage == null || (choices != null && !choices.isEmpty());
      Buffer sse = forward ? sse(payload) : null;
      out.add(new Event(sse, token, usage, false));
    }
  }
}
