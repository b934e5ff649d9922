package dev.switchboard.model.spi;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;

/**
 * A kind of upstream model API. The gateway speaks OpenAI's Chat Completions to its clients; a
 * provider type translates that to and from one upstream protocol. The dispatcher owns the HTTP
 * connections, retries, keys and breakers: an implementation only maps requests and answers, so it
 * stays small and easy to test. Implementations are found with {@link java.util.ServiceLoader}
 * (list them in {@code META-INF/services/dev.switchboard.model.spi.ModelProvider}), so a new type
 * can come from a jar on the class path; {@code type:} in {@code model_provider.yaml} selects it.
 */
public interface ModelProvider {

  /** The name used as {@code type:} in the configuration. */
  String type();

  /** The request for one chat completion. {@code upstreamModel} replaces the client's model name. */
  Request chat(JsonObject openAiBody, String upstreamModel, boolean stream, boolean streamUsage);

  /** A non-streaming answer (status 200) as an OpenAI {@code chat.completion}; throws on a malformed body. */
  Completion completion(Buffer body);

  /** A fresh decoder for one streamed answer. */
  StreamDecoder decoder(boolean clientWantsUsage);

  /** The request that lists the upstream's models, and how to read its answer as OpenAI model objects. */
  Request listModels();

  JsonArray models(Buffer body);

  /** A cheap request that proves the upstream answers; never billed to a client. */
  Request probe(String probeKind, String model);

  /** Headers that carry an API key. */
  default Map<String, String> auth(String key) {
    return Map.of("Authorization", "Bearer " + key);
  }

  /** What to send upstream. */
  record Request(HttpMethod method, String path, Buffer body) {
  }

  /** Token counts of one answer; zero where the upstream did not say. */
  record Usage(long promptTokens, long completionTokens) {
    public static final Usage NONE = new Usage(0, 0);

    public static Usage of(JsonObject usage) {
      if (usage == null) {
        return NONE;
      }
      return new Usage(usage.getLong("prompt_tokens", 0L), usage.getLong("completion_tokens", 0L));
    }
  }

  /** An answer ready for the client, and its usage. */
  record Completion(Buffer body, Usage usage) {
  }

  /**
   * Turns upstream bytes into OpenAI SSE events. Bytes arrive in arbitrary pieces; events come out
   * whole. A malformed event throws, which before the first token lets the dispatcher try elsewhere.
   */
  interface StreamDecoder {

    List<Event> feed(Buffer data);

    /** Called when the upstream ends the response: anything left over. */
    List<Event> end();
  }

  /**
   * One event for the client: {@code sse} is the complete {@code data: ...\n\n} text (null for an
   * event that only carries information, such as a usage chunk the client did not ask for).
   */
  record Event(Buffer sse, boolean token, Usage usage, boolean done) {
  }
}
