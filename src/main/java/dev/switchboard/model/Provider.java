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
import java.util.Locale;
import java.util.logging.Logger;

/**
 * One configured provider at run time: its protocol, its connection pool (sized by
 * {@code max_concurrency}), its keys, and whether it is up. Up or down follows the latest evidence:
 * a probe, or live traffic (a success brings it up; {@code health_check.down_after} calls in a row
 * failing for connect errors, 5xx or timeouts bring it down). Each change is logged once, with its
 * reason. Confined to the dispatcher's event loop.
 */
final class Provider {

  private static final Logger LOG = Logger.getLogger(Provider.class.getName());

  final ProviderSettings settings;
  final ModelProvider protocol;
  final HttpClient client;
  final KeyPool keys;
  private final int downAfter;
  int inFlight;
  /** null until the first probe or answer; then the latest verdict. Read by gauges, hence volatile. */
  volatile Boolean healthy;
  /** Why it is down; null while up. */
  String reason;
  private int failuresInARow;
  JsonObject lastProbe;
  /** A probe is under way: another one would only add load. */
  boolean probing;

  Provider(Vertx vertx, ProviderSettings settings, ModelSettings.KeyCooldown cooldown, int downAfter) {
    this.settings = settings;
    this.downAfter = downAfter;
    this.protocol = settings.protocol();
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

  /**
   * A request on this provider's client. A client closed by a stop throws instead of failing its
   * future; as a failed future, the call that raced the stop ends (and its caller hears of it)
   * instead of leaving its future open forever.
   */
  io.vertx.core.Future<io.vertx.core.http.HttpClientRequest> open(RequestOptions options) {
    try {
      return client.request(options);
    } catch (IllegalStateException closed) {
      return io.vertx.core.Future.failedFuture(Failure.unavailable("provider_stopping",
          "provider '" + name() + "' is stopping: " + closed.getMessage()));
    }
  }

  /** Up unless a probe or live traffic said otherwise. */
  boolean up() {
    return healthy == null || healthy;
  }

  boolean saturated() {
    return inFlight >= settings.maxConcurrency();
  }

  RequestOptions options(ModelProvider.Request request, KeyPool.Key key) {
    RequestOptions options = settings.requestOptions(request, key.none() ? null : key.value);
    // the caller's request id, so the upstream's own logs can be matched with ours
    String requestId = dev.switchboard.observe.RequestIds.current();
    if (requestId != null) {
      options.putHeader(dev.switchboard.observe.RequestIds.HEADER, requestId);
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

  Failure firstTokenTimedOut(long ms) {
    return Failure.timeout("upstream '" + name() + "' sent no token within " + seconds(ms));
  }

  /** 3s, 2.5s, 800ms. */
  static String seconds(long ms) {
    if (ms % 1000 == 0) {
      return ms / 1000 + "s";
    }
    return ms >= 1000 ? String.format(Locale.ROOT, "%.1fs", ms / 1000.0) : ms + "ms";
  }

  String state() {
    return healthy == null ? "unknown" : healthy ? "up" : "down";
  }

  JsonObject health() {
    return new JsonObject()
        .put("status", state())
        .put("required", settings.required())
        .put("reason", reason)
        .put("last_probe", lastProbe);
  }

  /**
   * What a live call came to. True when it has just marked the provider down, so that the caller
   * can probe it at once (the probe's answer then says more than the calls did).
   */
  boolean live(Outcome outcome) {
    if (outcome.answered()) {
      failuresInARow = 0;
      mark(true, "it answers calls again");
      return false;
    }
    if (!outcome.signalsDown()) {
      return false;
    }
    failuresInARow++;
    if (downAfter > 0 && failuresInARow >= downAfter && !Boolean.FALSE.equals(healthy)) {
      mark(false, failuresInARow + " calls in a row failed, the last: " + outcome.failure().getMessage());
      return true;
    }
    return false;
  }

  /**
   * A probe's verdict. A probe sent because live calls marked the provider down only confirms:
   * if it answers, the provider stays down until a call succeeds or a scheduled probe answers, as a
   * model list that loads says little when completions keep failing.
   */
  void probed(boolean ok, long latencyMs, String error, boolean confirming) {
    lastProbe = new JsonObject().put("at", Instant.now().toString()).put("ok", ok).put("latency_ms", latencyMs)
        .put("error", error);
    if (!ok) {
      mark(false, "its probe failed: " + error);
    } else if (confirming && Boolean.FALSE.equals(healthy)) {
      LOG.info("provider '" + name() + "' answers its probe while its calls fail: kept down until a call succeeds");
    } else {
      failuresInARow = 0;
      mark(true, "its probe answered");
    }
  }

  /** Told of each change of state (up, why); set by the dispatcher, which raises it as an event. */
  java.util.function.BiConsumer<Boolean, String> onChange = (up, why) -> { };

  /** The one place the state changes; each change is logged once. */
  private void mark(boolean up, String why) {
    Boolean before = healthy;
    if (before != null && before == up) {
      if (!up) {
        reason = why;
      }
      return;
    }
    healthy = up;
    reason = up ? null : why;
    if (!up) {
      LOG.warning("provider '" + name() + "' is down: " + why + "; other providers are preferred until it answers");
      onChange.accept(false, why);
    } else if (before != null) {
      LOG.info("provider '" + name() + "' is up again: " + why);
      onChange.accept(true, why);
    }
  }
}
