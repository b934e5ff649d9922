package dev.switchboard.memory;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.Failure;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;

/**
 * Vectors from an OpenAI-compatible {@code /embeddings} API, asked through the model component
 * (which owns providers, keys and retries). Texts go in batches of {@code batch}. The dimensions
 * are learnt from the first answer, so {@link #ready()} embeds one word.
 */
final class RemoteEmbedder implements Embedder {

  private final Vertx vertx;
  private final String model;
  private final String upstreamModel;
  private final int batch;
  private volatile int dimensions;

  RemoteEmbedder(Vertx vertx, String provider, String upstreamModel, int batch) {
    this.vertx = vertx;
    this.model = provider + ":" + upstreamModel;
    this.upstreamModel = upstreamModel;
    this.batch = batch;
  }

  @Override
  public String model() {
    return model;
  }

  /** The provider's name for the model ({@code embeddings.model}), and ours ({@code provider:model}). */
  @Override
  public List<String> names() {
    return List.of(upstreamModel, model);
  }

  @Override
  public int dimensions() {
    return dimensions;
  }

  @Override
  public Future<Void> ready() {
    return dimensions > 0 ? Future.succeededFuture() : embed(List.of("ping")).mapEmpty();
  }

  @Override
  public Future<List<float[]>> embed(List<String> texts) {
    List<Future<List<float[]>>> parts = new ArrayList<>();
    for (int i = 0; i < texts.size(); i += batch) {
      parts.add(call(texts.subList(i, Math.min(texts.size(), i + batch))));
    }
    return Future.all(parts).map(all -> {
      List<float[]> out = new ArrayList<>(texts.size());
      for (int i = 0; i < parts.size(); i++) {
        out.addAll(all.<List<float[]>>resultAt(i));
      }
      return out;
    });
  }

  private Future<List<float[]>> call(List<String> texts) {
    return vertx.eventBus().<JsonObject>request(Addresses.MODEL_EMBED, new JsonArray(new ArrayList<>(texts)),
            new DeliveryOptions().setSendTimeout(120_000))
        .map(m -> {
          float[][] byIndex = new float[texts.size()][];
          try {
            JsonArray data = m.body().getJsonArray("data");
            for (int i = 0; i < data.size(); i++) {
              JsonObject item = data.getJsonObject(i);
              JsonArray values = item.getJsonArray("embedding");
              float[] v = new float[values.size()];
              for (int j = 0; j < v.length; j++) {
                v[j] = values.getNumber(j).floatValue();
              }
              byIndex[item.getInteger("index", i)] = Embedder.normalize(v);
            }
          } catch (ClassCastException | NullPointerException | IndexOutOfBoundsException e) {
            throw Failure.badGateway("bad_upstream_response", "embedding provider " + model + " answered something other "
                + "than a list of float vectors");
          }
          int dims = byIndex[0] == null ? 0 : byIndex[0].length;
          for (float[] v : byIndex) {
            // the provider's mistake, not the gateway's: a 502 like any other bad upstream answer
            if (v == null || v.length == 0) {
              throw Failure.badGateway("bad_upstream_response", "embedding provider " + model + " left out a vector");
            }
            if (v.length != dims || dimensions > 0 && v.length != dimensions) {
              throw Failure.badGateway("bad_upstream_response", "embedding provider " + model + " returned vectors of differing lengths");
            }
          }
          List<float[]> out = List.of(byIndex);
          dimensions = dims;
          return out;
        });
  }
}
