package dev.switchboard.agent;

import dev.switchboard.bus.Addresses;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;

/** Lists recent tasks, newest first, as one compact line each (the model needs ids and states, not whole records). */
final class QueryTasksSkill implements Skill {

  static final int DEFAULT_LIMIT = 10;
  static final int MAX_LIMIT = 50;
  static final int INPUT_CHARS = 80;
  private static final List<String> STATUSES = List.of("queued", "running", "succeeded", "failed", "cancelled");

  @Override
  public String name() {
    return "query_tasks";
  }

  @Override
  public String description() {
    return "List the gateway's tasks (id, status, start of the input), optionally only those with one status.";
  }

  @Override
  public JsonObject parameters() {
    return new JsonObject().put("type", "object").put("properties", new JsonObject()
        .put("status", new JsonObject().put("type", "string").put("enum", new JsonArray(STATUSES)))
        .put("limit", new JsonObject().put("type", "integer").put("minimum", 1).put("maximum", MAX_LIMIT)
            .put("description", "how many, default " + DEFAULT_LIMIT)));
  }

  @Override
  public Future<String> run(SkillCall call) {
    JsonObject args = call.arguments();
    String status = args.getValue("status") instanceof String s && !s.isBlank() ? s.trim() : null;
    if (status != null && !STATUSES.contains(status)) {
      return Future.failedFuture("unknown status '" + status + "' (one of " + String.join(", ", STATUSES) + ")");
    }
    int limit = args.getValue("limit") instanceof Number n ? Math.max(1, Math.min(MAX_LIMIT, n.intValue())) : DEFAULT_LIMIT;
    JsonObject query = new JsonObject().put("status", status).put("limit", limit);
    return call.vertx().eventBus().<JsonObject>request(Addresses.TASK_LIST, query).map(m -> {
      JsonArray data = m.body().getJsonArray("data");
      if (data.isEmpty()) {
        return status == null ? "no tasks" : "no " + status + " tasks";
      }
      StringBuilder out = new StringBuilder();
      for (Object o : data) {
        JsonObject t = (JsonObject) o;
        out.append(t.getString("id")).append(' ').append(t.getString("status")).append(' ')
            .append(shorten(t.getString("input", ""))).append('\n');
      }
      return out.toString();
    });
  }

  /** The first characters on one line, so one task is one line whatever its input holds. */
  static String shorten(String input) {
    String line = input.replaceAll("\\s+", " ").trim();
    return line.codePointCount(0, line.length()) <= INPUT_CHARS ? line
        : line.substring(0, line.offsetByCodePoints(0, INPUT_CHARS)) + "…";
  }
}
