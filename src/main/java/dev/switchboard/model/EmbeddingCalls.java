package dev.switchboard.model;

import dev.switchboard.bus.Failure;
import dev.switchboard.model.spi.ModelProvider;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Embedding requests to the provider named in {@code embeddings:}. Simpler than chat: one provider,
 * no streams, no groups; but the same keys (a 429 rests a key, a 401 disables it), the same failure
 * classes, and the same retry budget, so a flaky embedding API is survived like a flaky chat API.
 */
final class EmbeddingCalls {

  private final Vertx vertx;
  private final Provider provider;
  private final ModelSettings.Embeddings settings;
  private final ModelSettings.Retry retry;

  EmbeddingCalls(Vertx vertx, Provider provider, ModelSettings.Embeddings settings, ModelSettings.Retry retry) {
    this.vertx = vertx;
    this.provider = provider;
    this.settings = settings;
    this.retry = retry;
  }

  /** An OpenAI embeddings answer for {@code input} (a JSON array of strings). */
  Future<JsonObject> embed(JsonArray input) {
    JsonObject body = new JsonObject().put("model", settings.model()).put("input", input).put("encoding_format", "float");
    Promise<JsonObject> result = Promise.promise();
    attempt(body.toBuffer(), input.size(), 1, System.currentTimeMillis() + retry.deadline().toMillis(), result);
    return result.future();
  }

  private void attempt(Buffer body, int count, int n, long deadline, Promise<JsonObject> result) {
    long now = System.currentTimeMillis();
    KeyPool.Key key = provider.keys.pick(now);
    if (key == null) {
      result.fail(Failure.unavailable("keys_resting", "every key of embedding provider '" + provider.name() + "' is resting"));
      return;
    }
    ModelProvider.Request request = new ModelProvider.Request(HttpMethod.POST, "/embeddings", body);
    long timeout = provider.settings.totalTimeout().toMillis();
    provider.client.request(provider.options(request, key).setIdleTimeout(timeout).setTimeout(timeout))
        .compose(r -> r.send(body))
        .compose(r -> r.body().map(b -> new Object[] {r.statusCode(), b, r.getHeader("Retry-After")}))
        .onComplete(ar -> {
          Outcome outcome;
          JsonObject answer = null;
          if (ar.failed()) {
            outcome = Outcome.thrown(provider, ar.cause());
          } else if ((Integer) ar.result()[0] != 200) {
            outcome = Outcome.status(provider, (Integer) ar.result()[0], (Buffer) ar.result()[1], (String) ar.result()[2]);
          } else {
            try {
              answer = new JsonObject((Buffer) ar.result()[1]);
              JsonArray data = answer.getJsonArray("data");
              if (data == null || data.size() != count) {
                throw new IllegalStateException("wrong number of vectors");
              }
              outcome = Outcome.OK;
            } catch (RuntimeException e) {
              outcome = Outcome.malformed(provider, "not an embeddings list");
            }
          }
          long at = System.currentTimeMillis();
          switch (outcome.kind()) {
            case OK -> {
              provider.keys.ok(key);
              result.complete(answer);
              return;
            }
            case RATE_LIMITED -> provider.keys.rateLimited(key, at, outcome.retryAfterMs());
            case KEY_REJECTED -> provider.keys.disable(key, at, outcome.failure().getMessage());
            case RETRYABLE -> {
            }
            default -> {
              result.fail(outcome.failure());
              return;
            }
          }
          if (n >= retry.maxAttempts() || at >= deadline) {
            result.fail(outcome.failure());
            return;
          }
          long cap = Math.min(retry.backoffMax().toMillis(), retry.backoffBase().toMillis() << Math.min(16, n - 1));
          long wait = Math.min(Math.max(1, ThreadLocalRandom.current().nextLong(cap + 1)), Math.max(1, deadline - at));
          vertx.setTimer(wait, t -> attempt(body, count, n + 1, deadline, result));
        });
  }
}
