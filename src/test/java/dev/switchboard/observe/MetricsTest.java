package dev.switchboard.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.micrometer.core.instrument.Timer;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Per-request meters are found once and follow the configured label bounds")
class MetricsTest {

  private LabelBounds.Bounds before;

  @BeforeEach
  void keep() {
    before = LabelBounds.current();
    LabelBounds.configure(new LabelBounds.Bounds(Set.of("p"), Set.of("m"), Set.of(), Map.of()));
  }

  @AfterEach
  void restore() {
    LabelBounds.configure(before);
  }

  private static Timer requests(Metrics metrics, String model) {
    return metrics.registry().find("switchboard.model.requests").tags("provider", "p", "model", model, "outcome", "ok").timer();
  }

  @Test
  void repeatedCallsCountOnOneMeter() {
    Metrics metrics = Metrics.current();
    metrics.modelCall("p", "m", "ok", 1_000_000);
    metrics.modelCall("p", "m", "ok", 3_000_000);
    assertEquals(2, requests(metrics, "m").count());
    assertEquals(4.0, requests(metrics, "m").totalTime(java.util.concurrent.TimeUnit.MILLISECONDS), 1e-9);
  }

  @Test
  void aNameTheBoundsLearnLaterGetsItsOwnLabel() {
    Metrics metrics = Metrics.current();
    metrics.modelCall("p", "m2", "ok", 1_000_000);
    assertEquals(1, requests(metrics, LabelBounds.OTHER).count());
    assertNull(requests(metrics, "m2"));
    // a reload that names the model: the same raw name must not stay on the meter found before
    LabelBounds.configure(new LabelBounds.Bounds(Set.of("p"), Set.of("m", "m2"), Set.of(), Map.of()));
    metrics.modelCall("p", "m2", "ok", 1_000_000);
    assertEquals(1, requests(metrics, "m2").count());
    assertEquals(1, requests(metrics, LabelBounds.OTHER).count());
  }

  private static double errors(Metrics metrics, String model, String outcome) {
    var counter = metrics.registry().find("switchboard.model.errors").tags("provider", "p", "model", model, "outcome", outcome).counter();
    return counter == null ? 0 : counter.count();
  }

  @Test
  @DisplayName("a call whose client went away is counted as a call, not as an upstream error")
  void aCancelledCallIsNotAnError() {
    Metrics metrics = Metrics.current();
    LabelBounds.configure(new LabelBounds.Bounds(Set.of("p"), Set.of("m", "m3"), Set.of(), Map.of()));
    metrics.modelCall("p", "m3", "cancelled", 1_000_000);
    metrics.modelCall("p", "m3", "timeout", 1_000_000);
    assertEquals(0, errors(metrics, "m3", "cancelled"));
    assertEquals(1, errors(metrics, "m3", "timeout"));
    assertEquals(1, metrics.registry().find("switchboard.model.requests").tags("model", "m3", "outcome", "cancelled").timer().count());
  }

  @Test
  void overheadIsRecordedPerStreamKind() {
    Metrics metrics = Metrics.current();
    metrics.overhead(true, 2_000_000);
    metrics.overhead(false, 1_000_000);
    metrics.overhead(false, -5);
    assertEquals(1, metrics.registry().find("switchboard.gateway.overhead").tag("stream", "true").timer().count());
    assertEquals(2, metrics.registry().find("switchboard.gateway.overhead").tag("stream", "false").timer().count());
  }
}
