package dev.switchboard.agent;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.Failure;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * Adds a schedule through the scheduler: a rule whose trigger is the schedule and whose one action
 * is an agent task with the prompt. The scheduler validates the rule, so its answer (e.g. a bad
 * cron, a name taken) is what the model reads.
 */
final class ScheduleTaskSkill implements Skill {

  @Override
  public String name() {
    return "schedule_task";
  }

  @Override
  public String description() {
    return "Schedule an agent task: once (at, ISO-8601), repeatedly (every, e.g. 30m) or by Quartz cron "
        + "(e.g. '0 0 9 ? * MON'), optionally pushing the answer to bots.";
  }

  @Override
  public JsonObject parameters() {
    JsonObject target = new JsonObject().put("type", "object").put("properties", new JsonObject()
            .put("type", new JsonObject().put("type", "string")).put("bot", new JsonObject().put("type", "string")))
        .put("required", new JsonArray().add("type").add("bot"));
    return new JsonObject().put("type", "object").put("properties", new JsonObject()
            .put("name", new JsonObject().put("type", "string").put("description", "a unique name for the schedule"))
            .put("at", new JsonObject().put("type", "string").put("description", "once, at this ISO-8601 time"))
            .put("every", new JsonObject().put("type", "string").put("description", "repeat interval, e.g. 15m, 1h"))
            .put("cron", new JsonObject().put("type", "string").put("description", "Quartz cron expression"))
            .put("timezone", new JsonObject().put("type", "string").put("description", "IANA time zone for at/cron"))
            .put("prompt", new JsonObject().put("type", "string").put("description", "what the agent does each time"))
            .put("channels", new JsonObject().put("type", "array").put("items", target)
                .put("description", "bots to push the answer to")))
        .put("required", new JsonArray().add("name").add("prompt"));
  }

  @Override
  public Future<String> run(SkillCall call) {
    JsonObject args = call.arguments();
    String name = args.getValue("name") instanceof String s ? s.trim() : "";
    String prompt = args.getValue("prompt") instanceof String s ? s : "";
    if (name.isEmpty() || prompt.isBlank()) {
      return Future.failedFuture("name and prompt are required");
    }
    JsonObject schedule = new JsonObject();
    for (String key : new String[] {"at", "every", "cron"}) {
      if (args.getValue(key) instanceof String s && !s.isBlank()) {
        schedule.put(key, s.trim());
      }
    }
    if (schedule.size() != 1) {
      return Future.failedFuture("give exactly one of at, every or cron");
    }
    if (args.getValue("timezone") instanceof String zone && !zone.isBlank()) {
      schedule.put("timezone", zone.trim());
    }
    JsonObject agent = new JsonObject().put("prompt", prompt);
    if (args.getValue("channels") instanceof JsonArray channels && !channels.isEmpty()) {
      agent.put("channels", channels);
    }
    JsonObject rule = new JsonObject().put("name", name).put("on", new JsonObject().put("schedule", schedule))
        .put("do", new JsonArray().add(new JsonObject().put("agent", agent)));
    return call.vertx().eventBus().<JsonObject>request(Addresses.SCHEDULES_ADD, rule)
        .recover(e -> Future.failedFuture(Failure.from(e).getMessage()))
        .map(m -> "scheduled '" + name + "', next run " + m.body().getString("next_fire"));
  }
}
