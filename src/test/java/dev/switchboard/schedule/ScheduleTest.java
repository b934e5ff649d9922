package dev.switchboard.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.util.Optional;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Schedule: reading a spec and computing the next firing")
class ScheduleTest {

  static Schedule cron(String cron, String zone) {
    return Schedule.from(new JsonObject().put("cron", cron).put("timezone", zone));
  }

  static Instant at(String iso) {
    return OffsetDateTime.parse(iso).toInstant();
  }

  @Test
  @DisplayName("a daily cron fires at 9:00 in the default zone, Asia/Shanghai")
  void dailyCronInShanghai() {
    Schedule s = Schedule.from(new JsonObject().put("cron", "0 0 9 * * ?"));
    assertEquals(ZoneId.of("Asia/Shanghai"), s.zone());
    assertEquals(at("2025-03-01T09:00:00+08:00"), s.next(at("2025-03-01T08:59:59.900+08:00")).orElseThrow());
    assertEquals(at("2025-03-02T09:00:00+08:00"), s.next(at("2025-03-01T09:00:00+08:00")).orElseThrow());
  }

  @Test
  @DisplayName("the seconds field counts: every 15 seconds")
  void secondsField() {
    Schedule s = cron("*/15 * * * * ?", "UTC");
    assertEquals(at("2025-03-01T10:00:15Z"), s.next(at("2025-03-01T10:00:00.001Z")).orElseThrow());
    assertEquals(at("2025-03-01T10:00:30Z"), s.next(at("2025-03-01T10:00:15Z")).orElseThrow());
  }

  @Test
  @DisplayName("on the spring-forward day, a time that does not exist is skipped, as Quartz does")
  void springForward() {
    Schedule s = cron("0 30 2 * * ?", "America/New_York");
    // 2:30 does not exist on 2024-03-10 in New York; the next 2:30 is the day after, in daylight time
    assertEquals(at("2024-03-11T02:30:00-04:00"), s.next(at("2024-03-10T00:00:00-05:00")).orElseThrow());
    assertEquals(at("2024-03-09T02:30:00-05:00"), s.next(at("2024-03-09T00:00:00-05:00")).orElseThrow());
  }

  @Test
  @DisplayName("on the fall-back day, a time that happens twice fires once")
  void fallBack() {
    Schedule s = cron("0 30 1 * * ?", "America/New_York");
    Instant first = s.next(at("2024-11-03T00:00:00-04:00")).orElseThrow();
    assertEquals(at("2024-11-03T01:30:00-04:00"), first);
    Instant second = s.next(first).orElseThrow();
    assertEquals(at("2024-11-04T01:30:00-05:00"), second);
  }

  @Test
  @DisplayName("the 29th of February waits for the next leap year")
  void leapDay() {
    Schedule s = cron("0 0 12 29 2 ?", "Asia/Shanghai");
    assertEquals(at("2028-02-29T12:00:00+08:00"), s.next(at("2025-01-01T00:00:00+08:00")).orElseThrow());
  }

  @Test
  @DisplayName("L is the last day of each month, the 31st skips the months without one")
  void monthEnds() {
    Schedule last = cron("0 0 0 L * ?", "UTC");
    assertEquals(at("2025-02-28T00:00:00Z"), last.next(at("2025-02-01T00:00:00Z")).orElseThrow());
    assertEquals(at("2024-02-29T00:00:00Z"), last.next(at("2024-02-01T00:00:00Z")).orElseThrow());
    assertEquals(at("2025-04-30T00:00:00Z"), last.next(at("2025-04-01T00:00:00Z")).orElseThrow());
    Schedule thirtyFirst = cron("0 0 0 31 * ?", "UTC");
    assertEquals(at("2025-05-31T00:00:00Z"), thirtyFirst.next(at("2025-04-01T00:00:00Z")).orElseThrow());
  }

  @Test
  @DisplayName("every: the multiples of the period since the epoch, strictly after")
  void every() {
    Schedule s = Schedule.from(new JsonObject().put("every", "10m"));
    assertEquals(at("2025-03-01T10:10:00Z"), s.next(at("2025-03-01T10:00:00Z")).orElseThrow());
    assertEquals(at("2025-03-01T10:10:00Z"), s.next(at("2025-03-01T10:09:59.999Z")).orElseThrow());
  }

  @Test
  @DisplayName("at: fires once at its time, and never once that has passed")
  void atInThePast() {
    Schedule s = Schedule.from(new JsonObject().put("at", "2025-03-01T09:00:00+08:00"));
    assertEquals(Optional.of(at("2025-03-01T01:00:00Z")), s.next(at("2025-03-01T00:00:00Z")));
    assertEquals(Optional.empty(), s.next(at("2025-03-01T01:00:00Z")));
    assertEquals(Optional.empty(), s.next(at("2026-01-01T00:00:00Z")));
  }

  @Test
  @DisplayName("jitter: a delay below it, the same on every call for one firing")
  void jitter() {
    Schedule s = Schedule.from(new JsonObject().put("every", "1m").put("jitter", "30s"));
    Instant fire = at("2025-03-01T10:00:00Z");
    Duration d = s.jitterFor("report", fire);
    assertTrue(!d.isNegative() && d.compareTo(Duration.ofSeconds(30)) < 0, d.toString());
    assertEquals(d, s.jitterFor("report", fire));
    assertEquals(Duration.ZERO, Schedule.from(new JsonObject().put("every", "1m")).jitterFor("report", fire));
  }

  @Test
  @DisplayName("misfire defaults to skip and accepts run_once")
  void misfire() {
    assertEquals(Schedule.Misfire.SKIP, Schedule.from(new JsonObject().put("every", "1m")).misfire());
    assertEquals(Schedule.Misfire.RUN_ONCE, Schedule.from(new JsonObject().put("every", "1m").put("misfire", "run_once")).misfire());
  }

  @Test
  @DisplayName("a bad spec is refused with what is wrong")
  void refused() {
    assertTrue(assertThrows(Schedule.Invalid.class, () -> Schedule.from(new JsonObject().put("cron", "0 0 9 * *")))
        .getMessage().contains("not a Quartz expression"));
    assertTrue(assertThrows(Schedule.Invalid.class, () -> Schedule.from(new JsonObject().put("every", "1m").put("at", "2025-01-01T00:00:00Z")))
        .getMessage().contains("exactly one"));
    assertTrue(assertThrows(Schedule.Invalid.class, () -> Schedule.from(new JsonObject().put("every", "soon")))
        .getMessage().contains("duration"));
    assertTrue(assertThrows(Schedule.Invalid.class, () -> Schedule.from(new JsonObject().put("at", "2025-01-01T00:00:00")))
        .getMessage().contains("offset"));
    assertTrue(assertThrows(Schedule.Invalid.class, () -> Schedule.from(new JsonObject().put("every", "1m").put("timezone", "Mars/Base")))
        .getMessage().contains("timezone"));
    assertTrue(assertThrows(Schedule.Invalid.class, () -> Schedule.from(new JsonObject().put("every", "1m").put("misfire", "later")))
        .getMessage().contains("misfire"));
    assertTrue(assertThrows(Schedule.Invalid.class, () -> Schedule.from(new JsonObject().put("every", "1m").put("when", "x")))
        .getMessage().contains("unknown key 'when'"));
  }
}
