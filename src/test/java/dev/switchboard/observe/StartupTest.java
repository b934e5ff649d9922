package dev.switchboard.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.security.AccessSettings;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("At start-up")
class StartupTest {

  /** Where Micrometer reports a meter registered twice: a warning once per JVM, then debug. */
  private static final Logger REGISTRY_LOG = Logger.getLogger("io.micrometer.core.instrument.MeterRegistry");

  final List<LogRecord> records = new CopyOnWriteArrayList<>();
  final Handler capture = new Handler() {
    @Override
    public void publish(LogRecord record) {
      records.add(record);
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
    }
  };
  Level registryLevel;
  Vertx vertx;
  FakeUpstream upstream;
  TestGateway gateway;

  @BeforeEach
  void listen() throws Exception {
    capture.setLevel(Level.ALL);
    Logger.getLogger("").addHandler(capture);
    // the warning is only given once per JVM; its later repeats are at debug level: see those too
    registryLevel = REGISTRY_LOG.getLevel();
    REGISTRY_LOG.setLevel(Level.ALL);
    vertx = Vertx.vertx();
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
  }

  @AfterEach
  void stop() throws Exception {
    if (gateway != null) {
      gateway.close();
    }
    vertx.close().await(10, TimeUnit.SECONDS);
    Logger.getLogger("").removeHandler(capture);
    REGISTRY_LOG.setLevel(registryLevel);
  }

  @Test
  @DisplayName("the gateway logs no warning, also not when its first clients connect")
  void noWarnings() throws Exception {
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).start();
    // a connection per request, as health checks and scrapers make them
    WebClient web = WebClient.create(vertx, new WebClientOptions().setKeepAlive(false));
    for (String path : new String[] {"/healthz", "/readyz", "/metrics", "/healthz"}) {
      web.getAbs(gateway.url(path)).send().await(10, TimeUnit.SECONDS);
    }
    // the one warning the shipped configuration asks for (security.legacy_tokens: true); LegacyTokensTest proves it
    String warnings = records.stream()
        .filter(r -> !AccessSettings.LEGACY_WARNING.equals(r.getMessage()))
        .filter(r -> r.getLevel().intValue() >= Level.WARNING.intValue() || String.valueOf(r.getMessage()).contains("already registered"))
        .map(r -> r.getLevel() + " " + r.getLoggerName() + " - " + r.getMessage())
        .collect(Collectors.joining("\n"));
    assertEquals("", warnings);
  }

  @Test
  @DisplayName("every bot that can push has its push counters at 0, so the first failure shows in a failure ratio")
  void pushCountersStartAtZero() throws Exception {
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).dingtalk("http://127.0.0.1:9/robot/send?access_token=t", "SEC1").start();
    String metrics = WebClient.create(vertx).getAbs(gateway.url("/metrics")).send().await(10, TimeUnit.SECONDS).bodyAsString();
    for (String status : new String[] {"delivered", "failed", "dead"}) {
      assertTrue(metrics.contains("switchboard_channel_pushes_total{bot=\"default\",channel=\"dingtalk\",status=\"" + status + "\"} 0.0"),
          status);
    }
    assertTrue(!metrics.contains("bot=\"ops\""), "a bot that is off (wecom/ops: webhook unset) has none");
  }
}
