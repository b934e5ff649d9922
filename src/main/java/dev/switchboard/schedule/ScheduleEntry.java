package dev.switchboard.schedule;

import io.vertx.core.json.JsonObject;
import java.time.Instant;

/**
 * One stored schedule. {@code spec} is the trigger as written ({@code cron}/{@code every}/{@code at}
 * …); {@code source} is {@code file} (rules.yaml, replaced on each load) or {@code api} (made at
 * run time, with its whole rule in {@code definition}); {@code nextFire} is the next nominal firing
 * (null: none left), {@code lastFire} when the last one was sent, {@code lastToken} the fencing
 * token of the leader that recorded it.
 */
public record ScheduleEntry(String rule, JsonObject spec, String source, JsonObject definition,
                            Instant nextFire, Instant lastFire, long lastToken) {

  public static final String FILE = "file";
  public static final String API = "api";

  public ScheduleEntry withNext(Instant next) {
    return new ScheduleEntry(rule, spec, source, definition, next, lastFire, lastToken);
  }

  /** As {@code GET /api/v1/schedules} lists it. */
  public JsonObject toJson() {
    return new JsonObject()
        .put("rule", rule)
        .put("next_fire", nextFire == null ? null : nextFire.toString())
        .put("last_fire", lastFire == null ? null : lastFire.toString())
        .put("source", source)
        .put("schedule", spec);
  }
}
