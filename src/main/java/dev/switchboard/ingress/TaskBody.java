package dev.switchboard.ingress;

import dev.switchboard.bus.Failure;
import dev.switchboard.bus.TaskSubmission;
import dev.switchboard.memory.LongTermMemory;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The body of {@code POST /api/v1/tasks} as a {@link TaskSubmission}, validated: one reading for
 * every edge that takes it (the HTTP API, and {@code switchboard.tasks.submit} on the bridges).
 * A bad field is a 400 {@link Failure} that names it.
 */
public final class TaskBody {

  private TaskBody() {
  }

  /**
   * {@code idempotencyHeader}: the {@code Idempotency-Key} the transport carried (used when the body
   * has no {@code idempotency_key}), or null; {@code subject}: the authenticated caller.
   */
  public static TaskSubmission parse(JsonObject body, String idempotencyHeader, String subject) {
    String input = requiredString(body, "input");
    String model = optionalString(body, "model");
    String key = optionalString(body, "idempotency_key");
    if (key == null) {
      key = idempotencyHeader;
    }
    if (key != null && key.length() > 255) {
      throw Failure.badRequest("invalid_idempotency_key", "idempotency_key must be at most 255 characters");
    }
    TaskSubmission.Priority priority = TaskSubmission.Priority.NORMAL;
    String p = optionalString(body, "priority");
    if (p != null) {
      try {
        priority = TaskSubmission.Priority.valueOf(p.toUpperCase());
      } catch (IllegalArgumentException e) {
        throw Failure.badRequest("invalid_priority", "'priority' must be high, normal or low, got '" + p + "'");
      }
    }
    List<TaskSubmission.Target> targets = new ArrayList<>();
    Object rawChannels = body.getValue("channels");
    if (rawChannels != null && !(rawChannels instanceof JsonArray)) {
      throw Failure.badRequest("invalid_channels", "'channels' must be an array of {\"type\", \"bot\"}");
    }
    if (rawChannels instanceof JsonArray list) {
      for (Object o : list) {
        if (!(o instanceof JsonObject c) || !(c.getValue("type") instanceof String type)) {
          throw Failure.badRequest("invalid_channels", "each channel must be an object with a string 'type'");
        }
        Object botValue = c.getValue("bot", "default");
        if (!(botValue instanceof String bot)) {
          throw Failure.badRequest("invalid_channels", "a channel's 'bot' must be a string");
        }
        Object message = c.getValue("message");
        if (message != null && !(message instanceof JsonObject)) {
          throw Failure.badRequest("invalid_channels", "a channel's 'message' must be a JSON object (a platform message body)");
        }
        targets.add(new TaskSubmission.Target(type, bot, null, (JsonObject) message));
      }
    }
    long delay = delayMillis(body.getValue("delay"));
    long runAt = runAt(body.getValue("run_at"));
    if (delay > 0 && runAt > 0) {
      throw Failure.badRequest("invalid_run_at", "give either 'delay' or 'run_at', not both");
    }
    int maxAttempts = 0;
    Object attempts = body.getValue("max_attempts");
    if (attempts != null) {
      if (!(attempts instanceof Integer || attempts instanceof Long) || ((Number) attempts).longValue() < 1
          || ((Number) attempts).longValue() > 100) {
        throw Failure.badRequest("invalid_max_attempts", "'max_attempts' must be a whole number from 1 to 100");
      }
      maxAttempts = ((Number) attempts).intValue();
    }
    return new TaskSubmission(input, model, List.copyOf(targets), priority, key,
        subject, null, delay, memoryScopes(body.getValue("memory_scope")), runAt, maxAttempts, null,
        skills(body.getValue("skills")));
  }

  /** {@code skills}: the names of the skills the agent may call (null: the default); which exist is checked by the tasks. */
  private static List<String> skills(Object value) {
    if (value == null) {
      return null;
    }
    if (value instanceof JsonArray a && a.size() <= 32
        && a.stream().allMatch(x -> x instanceof String n && n.matches("[A-Za-z0-9_-]{1,64}"))) {
      List<String> names = new ArrayList<>();
      a.forEach(x -> names.add((String) x));
      return names;
    }
    throw Failure.badRequest("invalid_skills", "'skills' must be a list of up to 32 skill names (letters, digits, _ and -)");
  }

  /** {@code memory_scope}: one scope or a list (the first is where the agent remembers by default). */
  static List<String> memoryScopes(Object value) {
    if (value == null) {
      return List.of();
    }
    List<String> scopes = new ArrayList<>();
    if (value instanceof String s) {
      scopes.add(s);
    } else if (value instanceof JsonArray a && a.size() <= 8 && a.stream().allMatch(x -> x instanceof String)) {
      a.forEach(x -> scopes.add((String) x));
    } else {
      throw Failure.badRequest("invalid_memory_scope", "'memory_scope' must be a scope or a list of up to 8 scopes");
    }
    scopes.forEach(LongTermMemory::checkScope);
    return scopes;
  }

  /** {@code delay}: seconds as a number, or a duration such as "30s", "5m", "1h"; at most 7 days. */
  private static long delayMillis(Object delay) {
    if (delay == null) {
      return 0;
    }
    long ms;
    if (delay instanceof Number n && n.doubleValue() >= 0) {
      ms = (long) (n.doubleValue() * 1000);
    } else if (delay instanceof String s) {
      try {
        ms = dev.switchboard.config.ConfigNode.parseDuration(s).map(Duration::toMillis).orElse(-1L);
      } catch (ArithmeticException | NumberFormatException tooLarge) {
        ms = -1; // "99999999999999999999s": no duration, let alone one of at most 7 days
      }
    } else {
      ms = -1;
    }
    if (ms < 0 || ms > Duration.ofDays(7).toMillis()) {
      throw Failure.badRequest("invalid_delay", "'delay' must be seconds, or a duration such as 30s, 5m or 1h, up to 7 days");
    }
    return ms;
  }

  /** {@code run_at}: an ISO-8601 time with an offset ("2026-12-01T09:00:00+08:00"), at most 7 days ahead; past is now. */
  private static long runAt(Object value) {
    if (value == null) {
      return 0;
    }
    if (value instanceof String s) {
      try {
        long at = java.time.OffsetDateTime.parse(s).toInstant().toEpochMilli();
        if (at - System.currentTimeMillis() <= Duration.ofDays(7).toMillis()) {
          return Math.max(1, at);
        }
      } catch (java.time.format.DateTimeParseException | ArithmeticException bad) {
        // reported below
      }
    }
    throw Failure.badRequest("invalid_run_at",
        "'run_at' must be an ISO-8601 time with an offset, such as 2026-12-01T09:00:00+08:00 or ...Z, at most 7 days ahead");
  }

  private static String requiredString(JsonObject body, String field) {
    Object v = body.getValue(field);
    if (!(v instanceof String s) || s.isBlank()) {
      throw Failure.badRequest("missing_" + field, "'" + field + "' is required and must be a non-empty string");
    }
    return s;
  }

  private static String optionalString(JsonObject body, String field) {
    Object v = body.getValue(field);
    if (v == null) {
      return null;
    }
    if (!(v instanceof String s)) {
      throw Failure.badRequest("invalid_" + field, "'" + field + "' must be a string");
    }
    return s.isBlank() ? null : s;
  }
}
