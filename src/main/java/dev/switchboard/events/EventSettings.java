package dev.switchboard.events;

import dev.switchboard.config.ConfigNode;
import java.time.Duration;

/**
 * The events' part of switchboard.yaml's {@code rules:} section.
 *
 * @param retention how long an inbound event is kept (listed, and recognised when it is sent again)
 */
public record EventSettings(Duration retention) {

  public static final EventSettings DEFAULT = new EventSettings(Duration.ofHours(24));

  /** {@code rules}: the section; its other keys belong to the rules engine, which reads them itself. */
  public static EventSettings from(ConfigNode rules) {
    ConfigNode node = rules.get("event_retention");
    Duration retention = node.duration(DEFAULT.retention());
    // platforms re-deliver for minutes to hours: a shorter retention would take a re-delivery for a new event
    if (retention.compareTo(Duration.ofMinutes(10)) < 0) {
      throw node.error("expected at least 10m, got '" + node.string("") + "'");
    }
    return new EventSettings(retention);
  }
}
