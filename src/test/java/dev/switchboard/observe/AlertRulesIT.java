package dev.switchboard.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.DisplayName;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.junit.jupiter.api.Test;

/** The shipped alert rules, checked and unit-tested by Prometheus' own promtool. */
@DisplayName("The alert rules in conf/alerts.yml")
class AlertRulesIT {

  @Test
  @DisplayName("pass promtool check rules")
  void valid() throws Exception {
    PromTool.Result result = PromTool.run(null, "check", "rules", "conf/alerts.yml");
    assertEquals(0, result.exit(), result.output());
    assertFalse(result.output().contains("WARNING"), result.output());
  }

  @Test
  @DisplayName("each fire when their trouble has lasted long enough and not before, below the threshold or on what they leave out (alerts-test.yml)")
  void fireAtFiveMinutes() throws Exception {
    PromTool.Result result = PromTool.run(null, "test", "rules", "src/test/resources/alerts-test.yml");
    assertEquals(0, result.exit(), result.output());
  }

  @Test
  @DisplayName("each have, in alerts-test.yml, a case where they fire and one where they do not")
  @SuppressWarnings("unchecked")
  void everyAlertTestedBothWays() throws Exception {
    Set<String> alerts = DashboardMetricsIT.AlertExprs.read(DashboardMetricsIT.ALERTS).keySet().stream()
        .map(k -> k.substring("alert ".length())).collect(java.util.stream.Collectors.toCollection(TreeSet::new));
    Map<String, Object> cases = (Map<String, Object>) new Load(LoadSettings.builder().build())
        .loadFromString(Files.readString(Path.of("src/test/resources/alerts-test.yml")));
    Set<String> fire = new TreeSet<>();
    Set<String> quiet = new TreeSet<>();
    for (Object test : (List<Object>) cases.get("tests")) {
      for (Object c : (List<Object>) ((Map<String, Object>) test).getOrDefault("alert_rule_test", List.of())) {
        Map<String, Object> check = (Map<String, Object>) c;
        List<Object> expected = (List<Object>) check.getOrDefault("exp_alerts", List.of());
        (expected == null || expected.isEmpty() ? quiet : fire).add(String.valueOf(check.get("alertname")));
      }
    }
    Set<String> untested = new TreeSet<>();
    for (String alert : alerts) {
      if (!fire.contains(alert)) {
        untested.add(alert + " never fires");
      }
      if (!quiet.contains(alert)) {
        untested.add(alert + " is never shown not firing");
      }
    }
    assertTrue(alerts.size() >= 5, "alerts: " + alerts);
    assertTrue(untested.isEmpty(), "alerts-test.yml: " + untested);
  }
}
