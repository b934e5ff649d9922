package dev.switchboard.schedule;

import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;
import dev.switchboard.config.ConfigNode;
import io.vertx.core.json.JsonObject;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.DateTimeParseException;
import java.util.Optional;
import java.util.Set;

/**
 * A rule's {@code schedule} trigger: exactly one of {@code cron} (Quartz syntax, with seconds),
 * {@code every} (a duration) or {@code at} (one ISO-8601 time with its offset), plus the time zone
 * the cron is read in, what to do about firings missed while no instance ran, and an optional
 * jitter. The next-fire computation is pure: same spec and instant, same answer on every instance.
 *
 * <p>{@code every} fires at the multiples of its period since the Unix epoch (not since start-up),
 * so that every instance and every restart agree on the times without sharing a start; use
 * {@code cron} for wall-clock times.
 */
public record Schedule(String cron, Duration every, Instant at, ZoneId zone, Misfire misfire, Duration jitter) {

  public enum Misfire { SKIP, RUN_ONCE }

  public static final ZoneId DEFAULT_ZONE = ZoneId.of("Asia/Shanghai");
  private static final Set<String> KEYS = Set.of("cron", "every", "at", "timezone", "misfire", "jitter");
  private static final CronParser QUARTZ = new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.QUARTZ));
  /** Shorter periods would make the leader's one-second re-check the real period. */
  static final Duration MIN_EVERY = Duration.ofSeconds(1);

  /** A spec that cannot be used; the message says which key and why. */
  public static final class Invalid extends IllegalArgumentException {
    Invalid(String message) {
      super(message);
    }
  }

  /** Reads a spec as rules.yaml and the API write it; throws {@link Invalid} naming the problem. */
  public static Schedule from(JsonObject spec) {
    if (spec == null) {
      throw new Invalid("a schedule needs one of cron, every or at");
    }
    for (String key : spec.fieldNames()) {
      if (!KEYS.contains(key)) {
        throw new Invalid("unknown key '" + key + "' in schedule (expected cron, every, at, timezone, misfire, jitter)");
      }
    }
    int kinds = (spec.containsKey("cron") ? 1 : 0) + (spec.containsKey("every") ? 1 : 0) + (spec.containsKey("at") ? 1 : 0);
    if (kinds != 1) {
      throw new Invalid("a schedule needs exactly one of cron, every or at");
    }
    ZoneId zone = DEFAULT_ZONE;
    if (spec.getValue("timezone") != null) {
      try {
        zone = ZoneId.of(text(spec, "timezone"));
      } catch (DateTimeException e) {
        throw new Invalid("unknown timezone '" + spec.getValue("timezone") + "' (expected an IANA name such as Asia/Shanghai)");
      }
    }
    Misfire misfire = switch (spec.getValue("misfire") == null ? "skip" : text(spec, "misfire")) {
      case "skip" -> Misfire.SKIP;
      case "run_once" -> Misfire.RUN_ONCE;
      default -> throw new Invalid("misfire must be skip or run_once, got '" + spec.getValue("misfire") + "'");
    };
    Duration jitter = spec.getValue("jitter") == null ? Duration.ZERO : duration(spec, "jitter");
    String cron = null;
    Duration every = null;
    Instant at = null;
    if (spec.containsKey("cron")) {
      cron = text(spec, "cron").trim();
      try {
        QUARTZ.parse(cron).validate();
      } catch (IllegalArgumentException e) {
        throw new Invalid("cron '" + cron + "' is not a Quartz expression (seconds minutes hours day-of-month month"
            + " day-of-week [year], e.g. \"0 0 9 * * ?\"): " + e.getMessage());
      }
    } else if (spec.containsKey("every")) {
      every = duration(spec, "every");
      if (every.compareTo(MIN_EVERY) < 0) {
        throw new Invalid("every must be at least 1s, got '" + spec.getValue("every") + "'");
      }
    } else {
      try {
        at = OffsetDateTime.parse(text(spec, "at")).toInstant();
      } catch (DateTimeParseException e) {
        throw new Invalid("at must be an ISO-8601 time with its offset (e.g. 2025-01-31T09:00:00+08:00), got '"
            + spec.getValue("at") + "'");
      }
    }
    if (jitter.isNegative()) {
      throw new Invalid("jitter must not be negative");
    }
    return new Schedule(cron, every, at, zone, misfire, jitter);
  }

  /** The spec with its keys in order, so that an unchanged spec compares equal however it was written. */
  public static JsonObject canonical(JsonObject spec) {
    return new JsonObject(new java.util.TreeMap<>(spec.getMap()));
  }

  private static String text(JsonObject spec, String key) {
    Object v = spec.getValue(key);
    if (!(v instanceof String s) || s.isBlank()) {
      throw new Invalid(key + " must be a non-empty string, got " + (v == null ? "nothing" : "'" + v + "'"));
    }
    return s;
  }

  private static Duration duration(JsonObject spec, String key) {
    String s = text(spec, key);
    return ConfigNode.parseDuration(s)
        .orElseThrow(() -> new Invalid(key + " must be a duration such as 30s, 10m or 1h, got '" + s + "'"));
  }

  /**
   * The first nominal firing strictly after {@code after}, or empty when there is none (an
   * {@code at} that has passed, a cron whose years are over). Jitter is not in it.
   */
  public Optional<Instant> next(Instant after) {
    if (at != null) {
      return at.isAfter(after) ? Optional.of(at) : Optional.empty();
    }
    if (every != null) {
      long period = every.toMillis();
      long t = after.toEpochMilli();
      return Optional.of(Instant.ofEpochMilli(Math.floorDiv(t, period) * period + period));
    }
    // cron-utils counts in whole seconds: from within a second, the next one is asked of that second
    ZonedDateTime from = after.atZone(zone).withNano(0);
    return ExecutionTime.forCron(QUARTZ.parse(cron)).nextExecution(from).map(ZonedDateTime::toInstant)
        .filter(t -> t.isAfter(after));
  }

  /**
   * The delay added to the nominal time {@code fire} of schedule {@code rule}: in [0, jitter),
   * spread by a hash of both, so that every instance (and a new leader) computes the same one.
   */
  public Duration jitterFor(String rule, Instant fire) {
    long ms = jitter.toMillis();
    if (ms <= 0) {
      return Duration.ZERO;
    }
    long h = rule.hashCode() * 0x9E3779B97F4A7C15L ^ fire.toEpochMilli() * 0xC2B2AE3D27D4EB4FL;
    h ^= h >>> 31;
    return Duration.ofMillis(Math.floorMod(h, ms));
  }
}
