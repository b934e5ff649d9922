package dev.switchboard.model;

import dev.switchboard.bus.Failure;
import dev.switchboard.model.spi.ModelProvider;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.net.ConnectException;
import java.time.Instant;

/**
 * One configured provider at run time: its protocol, its connection pool (sized by
 * {@code max_concurrency}), its keys, and what the last probe said. Confined to the dispatcher's
 * event loop.
 */
final class Provider {

  final ProviderSettings settings;
  final ModelProvider protocol;
  final HttpClient client;
  final KeyPool keys;
  int inFlight;
  /** null until the first probe; then the probe's verdict. */
  volatile Boolean healthy;
  JsonObject lastProbe;

  Provider(Vertx vertx, ProviderSettings settings, ModelSettings.KeyCooldown cooldown) {
    this.settings = settings;
    this.protocol = ProviderRegistry.get(settings.type());
    this.keys = new KeyPool(settings.name(), settings.keys(), cooldown);
    this.client = vertx.createHttpClient(
        new HttpClientOptions()
            .setConnectTimeout((int) settings.connectTimeout().toMillis())
            .setKeepAlive(true)
            .setKeepAliveTimeout(60)
            .setVerifyHost(true),
        new PoolOptions().setHttp1MaxSize(settings.maxConcurrency()).setMaxWaitQueueSize(settings.maxConcurrency() * 16));
  }

  String name() {
    return settings.name();
  }

  /** Healthy unless a probe said otherwise. */
  boolean up() {
    return healthy == null || healthy;
  }

  boolean saturated() {
    return inFlight >= settings.maxConcurrency();
  }

  RequestOptions options(ModelProvider.Request request, KeyPool.Key key) {
    RequestOptions options = new RequestOptions()
        .setMethod(request.method())
        .setAbsoluteURI(settings.endpoint() + request.path())
        .setFollowRedirects(false)
        .putHeader("Accept", "application/json, text/event-stream");
    if (request.body() != null) {
      options.putHeader("Content-Type", "application/json");
    }
    if (key != KeyPool.NO_KEY) {
      protocol.auth(key.value).forEach(options::putHeader);
    }
    return options;
  }

  Failure unreachable(Throwable cause) {
    if (cause instanceof Failure f) {
      return f;
    }
    String m = cause.getMessage();
    String why = cause instanceof ConnectException || m == null ? cause.getClass().getSimpleName() + (m == null ? "" : ": " + m) : m;
    return Failure.badGateway("upstream_unreachable", "upstream '" + name() + "' is unreachable: " + why);
  }

  Failure timedOut(long ms) {
    return Failure.timeout("upstream '" + name() + "' did not answer within " + seconds(ms));
  }

  Failure firstTokenTimedOut() {
    return Failure.timeout("upstream '" + name() + "' sent no token within " + seconds(settings.firstTokenTimeout().toMillis()));
  }

  private static String seconds(long ms) {
    return ms % 1000 == 0 ? ms / 1000 + "s" : ms + "ms";
  }

  JsonObject health() {
    return new JsonObject()
        .put("status", healthy == null ? "unknown" : healthy ? "up" : "down")
        .put("required", settings.required())
        .put("last_probe", lastProbe);
  }

  void probed(boolean ok, long latencyMs, String error) {
    healthy = ok;
    lastProbe = new JsonObject().put("at", Instant.now().toString()).put("ok", ok).put("latency_ms", latencyMs)
        .put("error", error);
  }
}
