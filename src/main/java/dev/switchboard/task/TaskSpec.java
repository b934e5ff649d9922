package dev.switchboard.task;

import dev.switchboard.bus.TaskSubmission;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;

/**
 * What a task asks of the agent, as the queue stores it ({@link TaskQueue.NewTask#spec}): the
 * input, the model (null: the default model when it runs), where the result goes, the
 * conversation it answers in, the long-term memory scopes it may use, and the rule and event it
 * was made for, if any. The queue never looks
 * inside; the field names are the stored format, read back by every later version.
 */
public record TaskSpec(String input, String model, List<TaskSubmission.Target> channels,
                       TaskSubmission.Conversation conversation, List<String> memoryScopes, TaskSubmission.Origin origin,
                       List<String> skills) {

  /** {@code skills}: what the agent may call; null for the default (remember/recall with memory scopes). */
  public TaskSpec {
    channels = channels == null ? List.of() : List.copyOf(channels);
    memoryScopes = memoryScopes == null ? List.of() : List.copyOf(memoryScopes);
    skills = skills == null ? null : List.copyOf(skills);
  }

  public static TaskSpec of(TaskSubmission s) {
    return new TaskSpec(s.input(), s.model(), s.channels(), s.conversation(), s.memoryScopes(), s.origin(), s.skills());
  }

  public JsonObject toJson() {
    JsonObject spec = new JsonObject().put("input", input);
    if (model != null && !model.isEmpty()) {
      spec.put("model", model);
    }
    JsonArray targets = new JsonArray();
    for (TaskSubmission.Target t : channels) {
      JsonObject target = new JsonObject().put("type", t.type()).put("bot", t.bot());
      if (t.address() != null) {
        target.put("address", t.address());
      }
      if (t.message() != null) {
        target.put("message", t.message());
      }
      targets.add(target);
    }
    spec.put("channels", targets);
    if (conversation != null) {
      spec.put("conversation", new JsonObject().put("key", conversation.key()).put("turns", conversation.turns()));
    }
    if (!memoryScopes.isEmpty()) {
      spec.put("memory_scopes", new JsonArray(new ArrayList<>(memoryScopes)));
    }
    if (origin != null) {
      spec.put("origin", new JsonObject().put("rule", origin.rule()).put("event", origin.event()));
    }
    if (skills != null) {
      spec.put("skills", new JsonArray(new ArrayList<>(skills)));
    }
    return spec;
  }

  /** Reads a stored spec; fields a spec lacks are empty, so older and newer specs both read. */
  public static TaskSpec from(JsonObject spec) {
    List<TaskSubmission.Target> targets = new ArrayList<>();
    JsonArray channels = spec.getJsonArray("channels", new JsonArray());
    for (Object o : channels) {
      if (o instanceof JsonObject t) {
        targets.add(new TaskSubmission.Target(t.getString("type"), t.getString("bot"), t.getJsonObject("address"),
            t.getJsonObject("message")));
      }
    }
    JsonObject c = spec.getJsonObject("conversation");
    TaskSubmission.Conversation conversation = c == null || c.getString("key") == null ? null
        : new TaskSubmission.Conversation(c.getString("key"), c.getInteger("turns", 0));
    List<String> scopes = new ArrayList<>();
    spec.getJsonArray("memory_scopes", new JsonArray()).forEach(s -> scopes.add(String.valueOf(s)));
    JsonObject o = spec.getJsonObject("origin");
    TaskSubmission.Origin origin = o == null ? null : new TaskSubmission.Origin(o.getString("rule"), o.getString("event"));
    List<String> skills = null;
    if (spec.getValue("skills") instanceof JsonArray named) {
      skills = new ArrayList<>();
      for (Object name : named) {
        skills.add(String.valueOf(name));
      }
    }
    return new TaskSpec(spec.getString("input", ""), spec.getString("model"), targets, conversation, scopes, origin, skills);
  }
}
