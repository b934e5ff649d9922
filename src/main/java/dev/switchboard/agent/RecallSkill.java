package dev.switchboard.agent;

import dev.switchboard.bus.Addresses;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;

/** Searches long-term memory, within the run's own scopes only. */
final class RecallSkill implements Skill {

  @Override
  public String name() {
    return "recall";
  }

  @Override
  public String description() {
    return "Search long-term memory for facts relevant to a question.";
  }

  @Override
  public JsonObject parameters() {
    return new JsonObject().put("type", "object")
        .put("properties", new JsonObject().put("query", new JsonObject().put("type", "string").put("description", "what to look for")))
        .put("required", new JsonArray().add("query"));
  }

  @Override
  public Future<String> run(SkillCall call) {
    if (call.memoryScopes().isEmpty()) {
      return Future.failedFuture("this run has no memory");
    }
    JsonObject search = new JsonObject().put("q", call.arguments().getString("query"))
        .put("scopes", new JsonArray(new ArrayList<>(call.memoryScopes()))).put("k", 5);
    return call.vertx().eventBus().<JsonObject>request(Addresses.MEMORY_SEARCH, search).map(m -> {
      JsonArray data = m.body().getJsonArray("data");
      if (data.isEmpty()) {
        return "nothing found";
      }
      StringBuilder out = new StringBuilder();
      for (Object d : data) {
        out.append("- ").append(((JsonObject) d).getString("content")).append('\n');
      }
      return out.toString();
    });
  }
}
