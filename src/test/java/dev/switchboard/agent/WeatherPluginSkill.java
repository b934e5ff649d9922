package dev.switchboard.agent;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/** A plug-in skill, found through src/test/resources/META-INF/services/dev.switchboard.agent.Skill. */
public final class WeatherPluginSkill implements Skill {

  @Override
  public String name() {
    return "weather";
  }

  @Override
  public String description() {
    return "Today's weather in a city (always sunny: it is a test).";
  }

  @Override
  public JsonObject parameters() {
    return new JsonObject().put("type", "object")
        .put("properties", new JsonObject().put("city", new JsonObject().put("type", "string")))
        .put("required", new JsonArray().add("city"));
  }

  @Override
  public Future<String> run(SkillCall call) {
    return Future.succeededFuture("sunny in " + call.arguments().getString("city"));
  }
}
