package dev.switchboard.observe;

import dev.switchboard.Settings;
import dev.switchboard.channel.ChannelSettings;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.micrometer.backends.BackendRegistries;
import java.time.Duration;
import java.util.List;

/**
 * The gateway's own meters, next to the HTTP server meters ({@link HttpServerMeters}) and the
 * connection, pool and JVM meters that vertx-micrometer-metrics records.
 * Names follow Prometheus conventions once the registry renders them ({@code _total},
 * {@code _seconds}). Which timers get histogram buckets, and which label values are kept, is
 * decided by the registry's filters ({@link Exposition}, {@link LabelBounds}), not here.
 */
public final class Metrics {

  /** The final states of a delivery (channel.DeliveryStore). */
  private static final List<String> PUSH_STATUSES = List.of("delivered", "failed", "dead");

  private final MeterRegistry registry;

  private Metrics(MeterRegistry registry) {
    this.registry = registry;
  }

  /** The registry Vert.x metrics report to, or a private one when metrics are off (tests, embedding). */
  public static Metrics current() {
    MeterRegistry r = BackendRegistries.getDefaultNow();
    return new Metrics(r != null ? r : new SimpleMeterRegistry());
  }

  /**
   * Called once before the verticles deploy: label values are bounded by this configuration
   * ({@link LabelBounds}), and every bot that can push starts with its push counters at 0, so
   * that a failure ratio (conf/alerts.yml) sees the first failure instead of a series appearing.
   */
  public static void configure(Settings settings) {
    configure(settings.models(), settings.channels());
  }

  /** As {@link #configure(Settings)}, with the files a live reload has just read (config.ReloadVerticle). */
  public static void configure(dev.switchboard.model.ModelSettings models, ChannelSettings channels) {
    LabelBounds.configure(LabelBounds.Bounds.of(models, channels));
    Metrics metrics = current();
    channels.bots().forEach((channel, byName) -> byName.values().stream()
        .filter(bot -> bot.offReason() == null)
        .forEach(bot -> metrics.pushCounters(channel, bot.name())));
    channels.dingtalkApps().values().stream().filter(a -> a.offReason() == null)
        .forEach(a -> metrics.pushCounters("dingtalk", a.name()));
    channels.feishuApps().values().stream().filter(a -> a.offReason() == null)
        .forEach(a -> metrics.pushCounters("feishu", a.name()));
  }

  private void pushCounters(String channel, String bot) {
    for (String status : PUSH_STATUSES) {
      pushes(channel, bot, status);
    }
  }

  public MeterRegistry registry() {
    return registry;
  }

  /**
   * Meters of the per-request path, found once: building and registering a meter looks it up in
   * the registry (tags sorted, ids compared, a double-registration check), which was 2 % of the
   * proxy's event loop on every call. Keyed by the raw names and the label bounds they were
   * bounded with, so a reload that changes the bounds finds new meters; capped, so names that were
   * never configured cannot grow it, and past the cap a meter is looked up as before.
   */
  private record HotKey(String name, String a, String b, String c) {
  }

  /** A meter and the bounds (compared by identity: a reload installs a new instance) it was labelled with. */
  private record Hot(LabelBounds.Bounds bounds, io.micrometer.core.instrument.Meter meter) {
  }

  private static final int HOT_METERS = 4096;
  private final java.util.concurrent.ConcurrentHashMap<HotKey, Hot> hot = new java.util.concurrent.ConcurrentHashMap<>();

  @SuppressWarnings("unchecked")
  private <M extends io.micrometer.core.instrument.Meter> M hot(String name, String a, String b, String c,
                                                                 java.util.function.Supplier<M> register) {
    LabelBounds.Bounds bounds = LabelBounds.current();
    HotKey key = new HotKey(name, a, b, c);
    Hot found = hot.get(key);
    if (found != null && found.bounds() == bounds) {
      return (M) found.meter();
    }
    M made = register.get();
    if (found != null || hot.size() < HOT_METERS) {
      hot.put(key, new Hot(bounds, made));
    }
    return made;
  }

  /**
   * One upstream model call: outcome is {@code ok}, {@code error}, {@code timeout},
   * {@code rate_limited}, {@code key_rejected}, {@code refused}, {@code client_error} or
   * {@code cancelled}. Every one but {@code ok} and {@code cancelled} (the client went away: nothing
   * went wrong upstream) counts as an error too.
   */
  public void modelCall(String provider, String model, String outcome, long nanos) {
    this.<Timer>hot("switchboard.model.requests", provider, model, outcome, () -> Timer.builder("switchboard.model.requests")
        .description("Upstream model calls by provider, model and outcome")
        .tags("provider", label("provider", provider), "model", label("model", model), "outcome", outcome)
        .register(registry))
        .record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    if (!"ok".equals(outcome) && !"cancelled".equals(outcome)) {
      this.<Counter>hot("switchboard.model.errors", provider, model, outcome, () -> Counter.builder("switchboard.model.errors")
          .description("Upstream model calls that failed")
          .tags("provider", label("provider", provider), "model", label("model", model), "outcome", outcome)
          .register(registry))
          .increment();
    }
  }

  /** A retry within one request, and why the previous attempt failed. */
  public void retry(String provider, String model, String reason) {
    this.<Counter>hot("switchboard.model.retries", provider, model, reason, () -> Counter.builder("switchboard.model.retries")
        .description("Attempts after the first, by the failure that caused them")
        .tags("provider", label("provider", provider), "model", label("model", model), "reason", reason).register(registry))
        .increment();
  }

  /** A request moved from one group to another (fallback chain or context-window fallback). */
  public void fallback(String from, String to) {
    Counter.builder("switchboard.model.fallbacks").description("Fallbacks taken from one group to another")
        .tags("from", label("from", from), "to", label("to", to)).register(registry).increment();
  }

  public void timeToFirstToken(String provider, String model, long nanos) {
    this.<Timer>hot("switchboard.model.ttft", provider, model, null, () -> Timer.builder("switchboard.model.ttft")
        .description("Upstream time to first token of streamed completions")
        .tags("provider", label("provider", provider), "model", label("model", model))
        .register(registry))
        .record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
  }

  /** Time the gateway itself added to a chat completion (to the first token, for streams). */
  public void overhead(boolean stream, long nanos) {
    this.<Timer>hot("switchboard.gateway.overhead", stream ? "true" : "false", null, null,
        () -> Timer.builder("switchboard.gateway.overhead").description("Time the gateway adds to a chat completion")
            .tag("stream", String.valueOf(stream))
            .register(registry))
        .record(Math.max(0, nanos), java.util.concurrent.TimeUnit.NANOSECONDS);
  }

  /** A gauge read from {@code source} at scrape time. */
  public <T> void gauge(String name, String description, T source, java.util.function.ToDoubleFunction<T> value,
                        String... tags) {
    io.micrometer.core.instrument.Gauge.builder(name, source, value).description(description).tags(tags)
        .strongReference(true).register(registry);
  }

  /** A configured label's value as {@link LabelBounds} keeps it now (asked with it, a meter follows a reload). */
  private static String label(String key, String value) {
    return LabelBounds.label(key, value, null);
  }

  /** Removes a meter registered for an object that is being replaced (a reload), so the new one can take its name and tags. */
  public void unregister(String name, String... tags) {
    var meter = registry.find(name).tags(tags).meter();
    if (meter != null) {
      registry.remove(meter);
      // a cached reference to a removed meter would count where no scrape looks
      hot.clear();
    }
  }

  public void probe(String provider, boolean ok) {
    Counter.builder("switchboard.model.probes").description("Health probes by provider and result")
        .tags("provider", label("provider", provider), "outcome", ok ? "up" : "down").register(registry).increment();
  }

  /** A task reached a final state ({@code succeeded}, {@code failed}) or was retried. */
  public void task(String outcome) {
    Counter.builder("switchboard.tasks")
        .description("Tasks by outcome")
        .tag("outcome", outcome)
        .register(registry)
        .increment();
  }

  /**
   * One run of a task, from its lease to its settling: {@code outcome} succeeded, retried or
   * failed; {@code reason} a coarse class of the failure (never a client's or upstream's words).
   */
  public void taskRun(String outcome, String reason, long nanos) {
    Timer.builder("switchboard.task.run")
        .description("Task runs, from lease to outcome")
        .tags("outcome", outcome, "reason", reason == null ? "none" : reason)
        .register(registry)
        .record(Duration.ofNanos(Math.max(0, nanos)));
  }

  /**
   * One tool call of an agent run: {@code skill} a registered skill's name (anything else is
   * {@code other}, so the model cannot make up labels); {@code outcome} ok, error or timeout (cut
   * by the run's time budget).
   */
  public void skillCall(String skill, String outcome, long nanos) {
    Counter.builder("switchboard.skill.calls").description("Agent tool calls by skill and outcome")
        .tags("skill", skill, "outcome", outcome).register(registry).increment();
    Timer.builder("switchboard.skill.duration").description("Agent tool calls by skill, from call to answer")
        .tag("skill", skill).register(registry).record(Duration.ofNanos(Math.max(0, nanos)));
  }

  /** Leases of workers that went away, put back in line (or failed, out of attempts). */
  public void tasksReclaimed(int count) {
    Counter.builder("switchboard.tasks.reclaimed").description("Tasks taken back from workers whose lease ran out")
        .register(registry).increment(count);
  }

  /** A request refused with 429 by security.rate_limits; {@code family} a RouteFamily scope (bounded). */
  public void rateLimited(String family) {
    rateLimitRefusals(family).increment();
  }

  /** Starts the refusal count of {@code family} at 0, so that a rate of refusals sees the first one. */
  public void rateLimitFamily(String family) {
    rateLimitRefusals(family);
  }

  private Counter rateLimitRefusals(String family) {
    return Counter.builder("switchboard.ratelimit.refused").description("Requests refused by a rate limit, by route family")
        .tag("family", family).register(registry);
  }

  /** A request let through without a rate-limit check because the buckets' store (Redis) could not be asked. */
  public void rateLimitUnchecked() {
    Counter.builder("switchboard.ratelimit.unchecked")
        .description("Requests let through unchecked while the rate-limit store could not be asked")
        .register(registry).increment();
  }

  /** One push to a platform bot: status is {@code delivered}, {@code failed} or {@code dead}. */
  public void push(String channel, String bot, String status) {
    pushes(channel, bot, status).increment();
  }

  private Counter pushes(String channel, String bot, String status) {
    return Counter.builder("switchboard.channel.pushes")
        .description("Pushes to platform bots by channel, bot and status")
        .tags("channel", label("channel", channel), "bot", LabelBounds.label("bot", bot, channel), "status", status)
        .register(registry);
  }

  /** A long-term memory write: {@code created}, {@code duplicate}, {@code updated}, {@code superseded} or {@code failed}. */
  public void memoryWrite(String status) {
    Counter.builder("switchboard.memory.writes")
        .description("Long-term memory writes by result")
        .tag("status", status)
        .register(registry)
        .increment();
  }

  /** One long-term memory search, embedding of the query included. */
  public void memorySearch(long nanos, boolean ok) {
    io.micrometer.core.instrument.Timer.builder("switchboard.memory.search")
        .description("Long-term memory searches, query embedding included")
        .tag("outcome", ok ? "ok" : "failed")
        .register(registry)
        .record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
  }

  private final java.util.Map<io.vertx.core.http.HttpVersion, Counter> versions = new java.util.concurrent.ConcurrentHashMap<>();

  /** One request by HTTP version, so that an operator sees whether clients use HTTP/2 (which needs TLS here). */
  public void httpRequest(io.vertx.core.http.HttpVersion version) {
    versions.computeIfAbsent(version, v -> Counter.builder("switchboard.http.requests.by.version")
        .description("HTTP requests by protocol version")
        .tag("version", v == io.vertx.core.http.HttpVersion.HTTP_2 ? "2" : v == io.vertx.core.http.HttpVersion.HTTP_1_0 ? "1.0" : "1.1")
        .register(registry)).increment();
  }
}
