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
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;

/**
 * Embedding requests to the provider named in {@code embeddings:}. Simpler than chat: one provider,
 * no streams, no groups; but the same keys (a 429 rests a key, a 401 disables it), the same failure
 * classes, the same bounds on what is read, the same provider state, and the same retry budget
 * ({@code retry.deadline} bounds the whole request), so a flaky embedding API is survived like a
 * flaky chat API.
 */
final class EmbeddingCalls {

  /** Answers past this size are parsed on a worker thread. */
  private static final int PARSE_ON_WORKER = 1024 * 1024;

  private final Vertx vertx;
  private final Provider provider;
  private final ModelSettings.Embeddings settings;
  private final ModelSettings.Retry retry;
  private final Consumer<Provider> confirmDown;

  EmbeddingCalls(Vertx vertx, Provider provider, ModelSettings.Embeddings settings, ModelSettings.Retry retry,
                 Consumer<Provider> confirmDown) {
    this.vertx = vertx;
    this.provider = provider;
    this.settings = settings;
    this.retry = retry;
    this.confirmDown = confirmDown;
  }

  /** An OpenAI embeddings answer for {@code input} (a JSON array of strings). */
  Future<JsonObject> embed(JsonArray input) {
    JsonObject body = new JsonObject().put("model", settings.model()).put("input", input).put("encoding_format", "float");
    Promise<JsonObject> result = Promise.promise();
    long started = System.currentTimeMillis();
    attempt(body.toBuffer(), input.size(), 1, started, started + retry.deadline().toMillis(), result);
    return result.future();
  }

  private void attempt(Buffer body, int count, int n, long started, long deadline, Promise<JsonObject> result) {
    long now = System.currentTimeMillis();
    KeyPool.Key key = provider.keys.pick(now);
    if (key == null) {
      result.fail(provider.keys.refusal(now));
      return;
    }
    ModelProvider.Request request = new ModelProvider.Request(HttpMethod.POST, "/embeddings", body);
    long timeout = Math.max(1, Math.min(provider.settings.totalTimeout().toMillis(), deadline - now));
    Bodies.call(vertx, provider, provider.options(request, key), body, timeout)
        .compose(answer -> {
          if (!answer.success()) {
            return Future.succeededFuture(new Checked(Outcome.status(provider, answer.status(), answer.body(),
                answer.headers()), null));
          }
          return vectors(answer.body(), count)
              .map(json -> new Checked(Outcome.OK, json))
              .otherwise(e -> new Checked(Outcome.malformed(provider, "not an embeddings list (" + e.getMessage() + ")"), null));
        })
        .otherwise(e -> new Checked(Outcome.thrown(provider, e), null))
        .onSuccess(checked -> settle(checked, key, body, count, n, started, deadline, result));
  }

  private record Checked(Outcome outcome, JsonObject answer) {
  }

  private void settle(Checked checked, KeyPool.Key key, Buffer body, int count, int n, long started, long deadline,
                      Promise<JsonObject> result) {
    Outcome outcome = checked.outcome();
    long at = System.currentTimeMillis();
    if (provider.live(outcome)) {
      confirmDown.accept(provider);
    }
    switch (outcome.kind()) {
      case OK -> {
        provider.keys.ok(key);
        result.complete(checked.answer());
        return;
      }
      case RATE_LIMITED -> provider.keys.rateLimited(key, at, outcome.retryAfterMs());
      case KEY_REJECTED -> provider.keys.disable(key, at, outcome.failure());
      case RETRYABLE -> {
      }
      default -> {
        // refused answers and the request's own faults: the one provider would answer the same again
        result.fail(outcome.failure());
        return;
      }
    }
    if (n >= retry.maxAttempts()) {
      result.fail(gaveUp(outcome.failure(), n, started, at, false));
      return;
    }
    long cap = Math.min(retry.backoffMax().toMillis(), retry.backoffBase().toMillis() << Math.min(16, n - 1));
    long wait = Math.max(1, ThreadLocalRandom.current().nextLong(cap + 1));
    if (outcome.kind() == Outcome.Kind.RATE_LIMITED && outcome.retryAfterMs() > 0) {
      wait = outcome.retryAfterMs();
    }
    if (at + wait >= deadline) {
      result.fail(gaveUp(outcome.failure(), n, started, at, true));
      return;
    }
    vertx.setTimer(wait, t -> attempt(body, count, n + 1, started, deadline, result));
  }

  /** The answer, checked to carry one vector per input. */
  private Future<JsonObject> vectors(Buffer body, int count) {
    if (body.length() < PARSE_ON_WORKER) {
      try {
        return Future.succeededFuture(check(body, count));
      } catch (RuntimeException e) {
        return Future.failedFuture(e);
      }
    }
    return vertx.executeBlocking(() -> check(body, count), false);
  }

  private static JsonObject check(Buffer body, int count) {
    JsonObject answer = new JsonObject(body);
    JsonArray data = answer.getJsonArray("data");
    if (data == null || data.size() != count) {
      throw new IllegalStateException("expected " + count + " vectors, got " + (data == null ? "none" : data.size()));
    }
    return answer;
  }

  private Failure gaveUp(Failure last, int attempts, long started, long now, boolean deadline) {
    String tries = attempts + (attempts == 1 ? " attempt" : " attempts") + " over "
        + String.format(Locale.ROOT, "%.1fs", (now - started) / 1000.0);
    String message = deadline
        ? "gave up on embeddings after " + tries + " (retry.deadline " + Provider.seconds(retry.deadline().toMillis())
            + "): " + last.getMessage()
        : last.getMessage() + " (" + tries + ")";
    return new Failure(last.status(), last.type(), last.code(), message);
  }
}
