package dev.switchboard.agent;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.List;

/**
 * One call of a skill: the model's arguments, and what the run allows. {@code memoryScopes} are
 * the only scopes a memory skill may read or write, whatever the arguments say; {@code ref} names
 * the run (e.g. {@code task:<id>}).
 */
public record SkillCall(JsonObject arguments, List<String> memoryScopes, String ref, Vertx vertx) {

  public SkillCall {
    arguments = arguments == null ? new JsonObject() : arguments;
    memoryScopes = memoryScopes == null ? List.of() : List.copyOf(memoryScopes);
  }
}
