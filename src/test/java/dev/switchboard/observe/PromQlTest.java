package dev.switchboard.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** What DashboardMetricsIT looks up: the metric names of a query, and nothing else in it. */
@DisplayName("The metric names of a PromQL query")
class PromQlTest {

  @Test
  @DisplayName("are the selected series, not functions, grouping labels, label values or Grafana variables")
  void histogramQuantile() {
    assertEquals(Set.of("vertx_http_server_response_time_seconds_bucket"), PromQl.metricNames(
        "histogram_quantile(0.99, sum by (le, route) (rate(vertx_http_server_response_time_seconds_bucket"
            + "{job=\"$job\", instance=~\"$instance\", route!~\"/healthz|/readyz\"}[$__rate_interval])))"));
  }

  @Test
  @DisplayName("of both sides of a binary operator and of 'and', with keywords, numbers and offsets left out")
  void binaryOperators() {
    assertEquals(Set.of("switchboard_channel_pushes_total", "switchboard_tasks_total"), PromQl.metricNames("""
        sum by (channel, bot) (rate(switchboard_channel_pushes_total{status=~"failed|dead"}[5m]))
          / on (instance) group_left sum without (bot) (rate(switchboard_tasks_total[5m] offset 1h)) > 0.05
        and ignoring (status) switchboard_channel_pushes_total > 1e3
        """));
  }

  @Test
  @DisplayName("include Prometheus' own up, which the gateway does not export and a check leaves out")
  void prometheusOwn() {
    assertEquals(Set.of("up"), PromQl.metricNames("up{job=\"switchboard\"} == 0"));
    assertTrue(PromQl.PROMETHEUS_OWN.contains("up"));
  }

  @Test
  @DisplayName("of a Grafana variable query are its metric, not the label it lists")
  void labelValues() {
    assertEquals(Set.of("switchboard_queue_running"),
        PromQl.metricNames("label_values(switchboard_queue_running{job=\"$job\"}, instance)"));
  }

  @Test
  @DisplayName("match on the labels inside each selector's braces, and group by the labels of by, without, on and ignoring")
  void labels() {
    String expr = "sum by (le, route) (rate(x_bucket{job=\"$job\", code=~\"5..\", route!=\"a,b=c\"}[5m]))"
        + " / ignoring (code) sum without (method) (y)";
    assertEquals(java.util.Map.of("x_bucket", Set.of("job", "code", "route")), PromQl.matchedLabels(expr));
    assertEquals(Set.of("le", "route", "code", "method"), PromQl.groupingLabels(expr));
  }
}
