package dev.switchboard.examples.provider;

import dev.switchboard.model.spi.ModelProvider;
import dev.switchboard.model.spi.OpenAiCompatible;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Map;

/**
 * {@code type: "openai_tagged"}: an OpenAI-compatible upstream that also wants a header naming the
 * caller (as some corporate API gateways do), {@code X-Caller: switchboard}. Everything else is the
 * built-in {@code api_gateway} type's: a plug-in type may wrap a built-in one.
 */
public final class TaggedOpenAi implements ModelProvider {

  public static final String HEADER = "X-Caller";

  private final OpenAiCompatible openAi = new OpenAiCompatible();

  @Override
  public String type() {
    return "openai_tagged";
  }

  @Override
  public Request chat(JsonObject openAiBody, String upstreamModel, boolean stream, boolean streamUsage) {
    return openAi.chat(openAiBody, upstreamModel, stream, streamUsage);
  }

  @Override
  public Completion completion(Buffer body) {
    return openAi.completion(body);
  }

  @Override
  public StreamDecoder decoder(boolean clientWantsUsage) {
    return openAi.decoder(clientWantsUsage);
  }

  @Override
  public Request listModels() {
    return openAi.listModels();
  }

  @Override
  public JsonArray models(Buffer body) {
    return openAi.models(body);
  }

  @Override
  public Request probe(String probeKind, String model) {
    return openAi.probe(probeKind, model);
  }

  @Override
  public Map<String, String> auth(String key) {
    return Map.of("Authorization", "Bearer " + key, HEADER, "switchboard");
  }
}
