package dev.switchboard.agent;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.time.Clock;
import java.time.DateTimeException;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;

/** The current date and time in an IANA time zone; Asia/Shanghai unless asked otherwise (models do not know the time). */
final class CurrentTimeSkill implements Skill {

  static final String DEFAULT_ZONE = "Asia/Shanghai";

  private final Clock clock;

  CurrentTimeSkill() {
    this(Clock.systemUTC());
  }

  CurrentTimeSkill(Clock clock) {
    this.clock = clock;
  }

  @Override
  public String name() {
    return "current_time";
  }

  @Override
  public String description() {
    return "The current date, time and weekday in a time zone (default " + DEFAULT_ZONE + ").";
  }

  @Override
  public JsonObject parameters() {
    return new JsonObject().put("type", "object").put("properties", new JsonObject()
        .put("timezone", new JsonObject().put("type", "string")
            .put("description", "an IANA time zone such as Europe/Berlin; default " + DEFAULT_ZONE)));
  }

  @Override
  public Future<String> run(SkillCall call) {
    String name = call.arguments().getValue("timezone") instanceof String s && !s.isBlank() ? s.trim() : DEFAULT_ZONE;
    ZoneId zone;
    try {
      // only region ids: offsets like +08:00 parse too, but they are not what the schema promises
      if (!ZoneId.getAvailableZoneIds().contains(name)) {
        return Future.failedFuture("unknown time zone '" + name + "' (use an IANA name such as Asia/Shanghai)");
      }
      zone = ZoneId.of(name);
    } catch (DateTimeException e) {
      return Future.failedFuture("unknown time zone '" + name + "'");
    }
    ZonedDateTime now = ZonedDateTime.now(clock.withZone(zone));
    return Future.succeededFuture(now.format(DateTimeFormatter.ISO_OFFSET_DATE_TIME) + " (" + now.getDayOfWeek() + ", " + zone + ")");
  }
}
