package dev.switchboard.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;

class CurrentTimeSkillTest {

  private final Clock noon = Clock.fixed(Instant.parse("2026-03-02T04:00:00Z"), ZoneOffset.UTC);

  @Test
  void withoutATimeZoneItIsShanghaiTime() {
    Future<String> now = new CurrentTimeSkill(noon).run(new SkillCall(new JsonObject(), List.of(), "test", null));
    assertEquals("2026-03-02T12:00:00+08:00 (MONDAY, Asia/Shanghai)", now.result());
  }

  @Test
  void anIanaTimeZoneIsHonoured() {
    Future<String> now = new CurrentTimeSkill(noon).run(call("Europe/Berlin"));
    assertEquals("2026-03-02T05:00:00+01:00 (MONDAY, Europe/Berlin)", now.result());
  }

  @Test
  void anUnknownTimeZoneIsAnErrorResult() {
    Future<String> now = new CurrentTimeSkill(noon).run(call("Mars/Olympus_Mons"));
    assertTrue(now.failed());
    assertTrue(now.cause().getMessage().contains("unknown time zone 'Mars/Olympus_Mons'"), now.cause().getMessage());
  }

  @Test
  void anOffsetIsNotAnIanaTimeZone() {
    assertTrue(new CurrentTimeSkill(noon).run(call("+08:00")).failed());
  }

  private static SkillCall call(String zone) {
    return new SkillCall(new JsonObject().put("timezone", zone), List.of(), "test", null);
  }
}
