package dev.switchboard.observe;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.micrometer.backends.BackendRegistries;
import java.time.Duration;

/**
 * The gateway's own meters, next to the HTTP server meters that vertx-micrometer-metrics records.
 * Names follow Prometheus conventions once the registry renders them ({@code _total},
 * {@code _seconds}).
 */
public final class Metrics {

  private final MeterRegistry registry;

  private Metrics(MeterRegistry registry) {
    this.registry = registry;
  }

  /** The registry Vert.x metrics report to, or a private one when metrics are off (tests, embedding). */
  public static Metrics current() {
    MeterRegistry r = BackendRegistries.getDefaultNow();
    return new Metrics(r != null ? r : new SimpleMeterRegistry());
  }

  public MeterRegistry registry() {
    return registry;
  }

  /** One upstream model call: outcome is {@code ok}, {@code error} or {@code timeout}. */
  public void modelCall(String provider, String model, String outcome, long nanos) {
    Timer.builder("switchboard.model.requests")
        .description("Upstream model calls by provider, model and outcome")
        .tags("provider", provider, "model", model, "outcome", outcome)
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1))
        .maximumExpectedValue(Duration.ofMinutes(2))
        .register(registry)
        .record(Duration.ofNanos(nanos));
    if (!"ok".equals(outcome)) {
      Counter.builder("switchboard.model.errors")
          .description("Upstream model calls that failed")
          .tags("provider", provider, "model", model, "outcome", outcome)
          .register(registry)
          .increment();
    }
  }

  /** A task reached a final state ({@code succeeded}, {@code failed}) or was retried. */
  public void task(String outcome) {
    Counter.builder("switchboard.tasks")
        .description("Tasks by outcome")
        .tag("outcome", outcome)
        .register(registry)
        .increment();
  }

  /** One push to a platform bot: status is {@code delivered} or {@code failed}. */
  public void push(String channel, String bot, String status) {
    Counter.builder("switchboard.channel.pushes")
        .description("Pushes to platform bots by channel, bot and status")
        .tags("channel", channel, "bot", bot, "status", status)
        .register(registry)
        .increment();
  }
}
