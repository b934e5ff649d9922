package dev.switchboard.examples.skill;

import dev.switchboard.agent.Skill;
import dev.switchboard.agent.SkillCall;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/** {@code reverse_text}: the text, back to front (by code point, so emoji and CJK survive). */
public final class ReverseTextSkill implements Skill {

  @Override
  public String name() {
    return "reverse_text";
  }

  @Override
  public String description() {
    return "Reverses a text, character by character.";
  }

  @Override
  public JsonObject parameters() {
    return new JsonObject().put("type", "object")
        .put("properties", new JsonObject().put("text", new JsonObject().put("type", "string").put("description", "the text to reverse")))
        .put("required", new JsonArray().add("text"));
  }

  @Override
  public Future<String> run(SkillCall call) {
    Object text = call.arguments().getValue("text");
    if (!(text instanceof String s)) {
      return Future.failedFuture("'text' must be a string");
    }
    return Future.succeededFuture(new StringBuilder(s).reverse().toString());
  }
}
