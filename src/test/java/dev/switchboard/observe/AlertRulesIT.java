package dev.switchboard.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import org.junit.jupiter.api.DisplayName;
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
}
