package dev.switchboard.rules;

import dev.switchboard.observe.LabelBounds;
import dev.switchboard.observe.Metrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Set;

/**
 * Per-rule meters: {@code switchboard.rules.matched} (trigger and condition held),
 * {@code switchboard.rules.fired} (actions done), {@code switchboard.rules.failed} (an action or
 * the condition failed) and {@code switchboard.rules.duration} (one firing). The {@code rule}
 * label takes names of the running set only (at most {@value RuleSet#MAX_RULES}); anything else
 * is {@value LabelBounds#OTHER}, like the other configured labels.
 */
final class RuleMetrics {

  private final MeterRegistry registry = Metrics.current().registry();
  private volatile Set<String> names = Set.of();

  /** The running set changed: its rules start at 0, so a rate sees their first firing. */
  void names(Set<String> current) {
    // the series of rules that are gone go with them: renames must not add series without end
    for (String gone : names) {
      if (!current.contains(gone)) {
        for (String meter : new String[] {"switchboard.rules.matched", "switchboard.rules.fired", "switchboard.rules.failed",
            "switchboard.rules.duration"}) {
          registry.find(meter).tag("rule", gone).meters().forEach(registry::remove);
        }
      }
    }
    names = Set.copyOf(current);
    for (String name : current) {
      counter("switchboard.rules.matched", "Rule evaluations whose trigger and condition held", name);
      counter("switchboard.rules.fired", "Rule firings whose actions all succeeded", name);
      counter("switchboard.rules.failed", "Rule firings or conditions that failed", name);
    }
  }

  void matched(String rule) {
    counter("switchboard.rules.matched", "Rule evaluations whose trigger and condition held", label(rule)).increment();
  }

  void fired(String rule, long nanos) {
    counter("switchboard.rules.fired", "Rule firings whose actions all succeeded", label(rule)).increment();
    duration(rule, "ok", nanos);
  }

  void failed(String rule, long nanos) {
    counter("switchboard.rules.failed", "Rule firings or conditions that failed", label(rule)).increment();
    if (nanos >= 0) {
      duration(rule, "failed", nanos);
    }
  }

  private void duration(String rule, String outcome, long nanos) {
    Timer.builder("switchboard.rules.duration").description("Rule firings, from match to the last action's answer")
        .tags("rule", label(rule), "outcome", outcome).register(registry).record(Duration.ofNanos(Math.max(0, nanos)));
  }

  private Counter counter(String name, String description, String rule) {
    return Counter.builder(name).description(description).tag("rule", rule).register(registry);
  }

  private String label(String rule) {
    return names.contains(rule) ? rule : LabelBounds.OTHER;
  }
}
