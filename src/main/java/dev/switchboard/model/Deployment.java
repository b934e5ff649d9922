package dev.switchboard.model;

import io.vertx.core.json.JsonObject;

/**
 * A provider serving one upstream model: the unit that routing picks and that a circuit breaker
 * guards. Shared by every group that lists the same provider and model. Confined to the
 * dispatcher's event loop.
 */
final class Deployment {

  private static final double ALPHA = 0.3;

  final Provider provider;
  final String model;
  /** The model as a metric label: configured names only, so clients cannot mint label values. */
  final String label;
  final CircuitBreaker breaker;
  int inFlight;
  /** Latency EWMA in ms (time to first token for streams); 0 until the first success. */
  double latencyEwma;

  Deployment(Provider provider, String model, boolean configured, ModelSettings.Breaker breaker) {
    this.provider = provider;
    this.model = model;
    this.label = configured ? model : "other";
    this.breaker = new CircuitBreaker(breaker);
  }

  String key() {
    return provider.name() + "/" + model;
  }

  /** Whether routing may pick it now: its circuit lets calls through, a key is free and the pool is not full. */
  boolean available(long now) {
    return provider.settings.enabled() && breaker.available(now) && provider.keys.anyAvailable(now) && !provider.saturated();
  }

  void latency(double ms) {
    latencyEwma = latencyEwma == 0 ? ms : ALPHA * ms + (1 - ALPHA) * latencyEwma;
  }

  /**
   * keys_disabled (every key refused), open / half_open (circuit), keys_resting (every key rate
   * limited), down (probe or live traffic), up: the first that holds, the one that keeps calls away.
   */
  String state(long now) {
    KeyPool.State keys = provider.keys.state(now);
    if (keys == KeyPool.State.DISABLED) {
      return "keys_disabled";
    }
    CircuitBreaker.State s = breaker.state(now);
    if (s == CircuitBreaker.State.OPEN) {
      return "open";
    }
    if (s == CircuitBreaker.State.HALF_OPEN) {
      return "half_open";
    }
    if (keys == KeyPool.State.RESTING) {
      return "keys_resting";
    }
    return provider.up() ? "up" : "down";
  }

  /**
   * For the {@code switchboard_deployment_state} gauge: 0 up, 1 half_open, 2 open, 3 down,
   * 4 keys_resting, 5 keys_disabled.
   */
  int stateCode(long now) {
    return switch (state(now)) {
      case "up" -> 0;
      case "half_open" -> 1;
      case "open" -> 2;
      case "keys_resting" -> 4;
      case "keys_disabled" -> 5;
      default -> 3;
    };
  }

  /** Why routing cannot pick it now, in words for a client; null when it can. */
  String unavailableBecause(long now) {
    if (breaker.state(now) == CircuitBreaker.State.OPEN) {
      return "circuit open after repeated failures, until " + java.time.Instant.ofEpochMilli(breaker.openUntil());
    }
    if (!breaker.available(now)) {
      return "circuit half-open, its trial call under way";
    }
    if (provider.saturated()) {
      return "all " + provider.settings.maxConcurrency() + " connections busy (max_concurrency)";
    }
    return null;
  }

  JsonObject view(long now) {
    String state = state(now);
    return new JsonObject()
        .put("provider", provider.name())
        .put("model", model)
        .put("state", state)
        .put("reason", "down".equals(state) ? provider.reason : null)
        .put("in_flight", inFlight)
        .put("latency_ewma_ms", Math.round(latencyEwma * 100) / 100.0)
        .put("last_probe", provider.lastProbe)
        .put("keys", provider.keys.view(now));
  }
}
