package dev.switchboard.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Skill labels are bounded even when the registered skills keep growing (an MCP server's changing tools)")
class SkillLabelsTest {

  private final LabelBounds.Bounds before = LabelBounds.current();

  @AfterEach
  void restore() {
    LabelBounds.configure(before);
  }

  @Test
  @DisplayName("the first MAX_SKILLS skill names are labels, later ones are 'other', and a kept name stays kept")
  void boundedSkillLabels() {
    LabelBounds.configure(before);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    registry.config().meterFilter(new LabelBounds());
    for (int i = 0; i < LabelBounds.MAX_SKILLS + 50; i++) {
      Counter.builder("switchboard.skill.calls").tags("skill", "server__tool_" + i, "outcome", "ok").register(registry).increment();
    }
    Counter.builder("switchboard.skill.calls").tags("skill", "server__tool_0", "outcome", "ok").register(registry).increment();
    Set<String> labels = new HashSet<>();
    registry.find("switchboard.skill.calls").counters().forEach(c -> labels.add(c.getId().getTag("skill")));
    assertEquals(LabelBounds.MAX_SKILLS + 1, labels.size(), "the kept names and other");
    assertEquals(50, registry.get("switchboard.skill.calls").tag("skill", LabelBounds.OTHER).counter().count());
    assertEquals(2, registry.get("switchboard.skill.calls").tag("skill", "server__tool_0").counter().count());
  }
}
