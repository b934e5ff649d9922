package dev.switchboard.observe;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.config.MeterFilterReply;
import io.micrometer.core.instrument.distribution.DistributionStatisticConfig;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.metrics.MetricsOptions;
import io.vertx.core.spi.VertxMetricsFactory;
import io.vertx.core.spi.metrics.VertxMetrics;
import io.vertx.micrometer.Label;
import io.vertx.micrometer.MetricsDomain;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsOptions;
import io.vertx.micrometer.VertxPrometheusOptions;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Map;
import java.util.logging.Logger;

/**
 * What {@code GET /metrics} exports, decided in one place: the registry Vert.x reports to, with
 * {@link LabelBounds} and the rules below installed before the first meter exists (a filter only
 * applies to meters registered after it).
 *
 * <ul>
 *   <li>Histograms (aggregatable, unlike quantiles) only for latencies that alerts and dashboards
 *   use, each with a short fixed set of buckets; every other timer and summary (request and
 *   response sizes, pool times, GC pauses) exports count, sum and max only.</li>
 *   <li>Names that {@code promtool check metrics} accepts: base units in names (seconds, not ms
 *   or ns) and no {@code _count} suffix on a gauge.</li>
 * </ul>
 */
public final class Exposition {

  /** Upper bounds of the histogram buckets, per meter; a meter not listed has no buckets. */
  static final Map<String, Duration[]> BUCKETS = Map.of(
      "vertx.http.server.response.time", durations(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
      "vertx.http.client.response.time", durations(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
      "switchboard.model.requests", durations(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120),
      "switchboard.model.ttft", durations(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
      "switchboard.gateway.overhead", durations(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
      "switchboard.memory.search", durations(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
      "switchboard.task.run", durations(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600),
      "switchboard.skill.duration", durations(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30));

  /** Micrometer's own names that promtool rejects, and what they are exported as instead. */
  private static final Map<String, String> RENAMED = Map.of("system.cpu.count", "system.cpu.processors");

  private Exposition() {
  }

  /** Vert.x metrics options: HTTP by route, method and status; pools by type and name; JVM meters. */
  public static MicrometerMetricsOptions options() {
    return new MicrometerMetricsOptions()
        .setEnabled(true)
        .setJvmMetricsEnabled(true)
        // publishQuantiles would give every timer and summary ~70 buckets (500 KB after 20 requests)
        .setPrometheusOptions(new VertxPrometheusOptions().setEnabled(true).setPublishQuantiles(false))
        .setLabels(EnumSet.of(Label.HTTP_ROUTE, Label.HTTP_METHOD, Label.HTTP_CODE, Label.POOL_TYPE, Label.POOL_NAME))
        // per-address bus metrics would label every stream's private address; the meters
        // that matter (model calls, tasks, pushes) are recorded by the components themselves
        .addDisabledMetricsCategory(MetricsDomain.EVENT_BUS)
        // the client side of every upstream call was 4 % of the proxy's event loop, and nothing reads
        // it: model calls have their own timers (switchboard_model_requests_seconds), pushes their counters
        .addDisabledMetricsCategory(MetricsDomain.HTTP_CLIENT);
  }

  /**
   * A metrics factory whose registry has every rule in place before Vert.x binds its first meter,
   * and whose HTTP server request meters are {@link HttpServerMeters}.
   */
  public static VertxMetricsFactory factory() {
    return factory(newRegistry());
  }

  static VertxMetricsFactory factory(PrometheusMeterRegistry registry) {
    KnownWarnings.install();
    return new Factory(registry);
  }

  /** Micrometer's factory, with its Vert.x metrics wrapped. */
  private static final class Factory implements VertxMetricsFactory {
    private final MeterRegistry registry;
    private final MicrometerMetricsFactory micrometer;

    Factory(MeterRegistry registry) {
      this.registry = registry;
      this.micrometer = new MicrometerMetricsFactory(registry);
    }

    @Override
    public VertxMetrics metrics(VertxOptions options) {
      return HttpServerMeters.around(micrometer.metrics(options), registry);
    }

    @Override
    public MetricsOptions newOptions() {
      return micrometer.newOptions();
    }

    @Override
    public MetricsOptions newOptions(MetricsOptions options) {
      return micrometer.newOptions(options);
    }

    @Override
    public MetricsOptions newOptions(JsonObject json) {
      return micrometer.newOptions(json);
    }
  }

  static PrometheusMeterRegistry newRegistry() {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    registry.config()
        .meterFilter(new LabelBounds())
        .meterFilter(new Rules());
    bindBaseUnitCounters(registry);
    // open and maximum file descriptors (process_files_open_files): on Linux a count of /proc/self/fd,
    // which is kernel memory, not disk, so it is read at scrape time like the JVM meters
    new FileDescriptorMetrics().bindTo(registry);
    return registry;
  }

  /** The CPU and JIT counters Micrometer exports in ns and ms, in seconds. */
  private static void bindBaseUnitCounters(MeterRegistry registry) {
    OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof com.sun.management.OperatingSystemMXBean sun && sun.getProcessCpuTime() >= 0) {
      FunctionCounter.builder("process.cpu", sun, o -> o.getProcessCpuTime() / 1e9)
          .description("CPU time used by the JVM process").baseUnit("seconds").register(registry);
    }
    CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
    if (jit != null && jit.isCompilationTimeMonitoringSupported()) {
      FunctionCounter.builder("jvm.compilation", jit, c -> c.getTotalCompilationTime() / 1e3)
          .description("Approximate time spent in JIT compilation").tag("compiler", jit.getName())
          .baseUnit("seconds").register(registry);
    }
  }

  private static Duration[] durations(double... seconds) {
    Duration[] out = new Duration[seconds.length];
    for (int i = 0; i < seconds.length; i++) {
      out[i] = Duration.ofNanos(Math.round(seconds[i] * 1e9));
    }
    return out;
  }

  /**
   * Buckets per {@link #BUCKETS}, the renames, and the ms/ns counters left out (their seconds
   * versions, {@code process_cpu_seconds_total} and {@code jvm_compilation_seconds_total}, have
   * other names: Micrometer would take a second meter of the same name for a re-registration).
   */
  static final class Rules implements MeterFilter {

    @Override
    public MeterFilterReply accept(Meter.Id id) {
      boolean replaced = "process.cpu.time".equals(id.getName()) || "jvm.compilation.time".equals(id.getName());
      return replaced ? MeterFilterReply.DENY : MeterFilterReply.NEUTRAL;
    }

    @Override
    public Meter.Id map(Meter.Id id) {
      String name = RENAMED.get(id.getName());
      return name == null ? id : id.withName(name);
    }

    @Override
    public DistributionStatisticConfig configure(Meter.Id id, DistributionStatisticConfig config) {
      Duration[] buckets = BUCKETS.get(id.getName());
      DistributionStatisticConfig.Builder only = DistributionStatisticConfig.builder()
          .percentilesHistogram(false)
          .percentiles();
      if (buckets == null) {
        return only.serviceLevelObjectives().build().merge(config);
      }
      double[] nanos = new double[buckets.length];
      for (int i = 0; i < buckets.length; i++) {
        nanos[i] = buckets[i].toNanos();
      }
      return only.serviceLevelObjectives(nanos).build().merge(config);
    }
  }

  /**
   * Vert.x's metrics register the gauge of a server's open connections again for every
   * connection (vertx-micrometer-metrics #259); Micrometer warns about that once per process.
   * The second registration returns the same gauge, so nothing is lost: this drops that warning
   * for Vert.x's own meters only, and keeps it for ours, where it would be a real mistake.
   */
  static final class KnownWarnings {
    private static final Logger REGISTRY_LOG = Logger.getLogger("io.micrometer.core.instrument.MeterRegistry");

    private KnownWarnings() {
    }

    static void install() {
      REGISTRY_LOG.setFilter(record -> {
        String message = record.getMessage();
        return message == null || !(message.contains("has been already registered") && message.contains("name='vertx."));
      });
    }
  }
}
