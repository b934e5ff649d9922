package dev.switchboard.agent;

import dev.switchboard.bus.Addresses;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;

/** Keeps a durable fact in long-term memory, in one of the run's own scopes (never one the model names). */
final class RememberSkill implements Skill {

  @Override
  public String name() {
    return "remember";
  }

  @Override
  public String description() {
    return "Store a durable fact worth knowing in later conversations (a preference, a decision, a name, a date). "
        + "One short, self-contained sentence per fact.";
  }

  @Override
  public JsonObject parameters() {
    return new JsonObject().put("type", "object").put("properties", new JsonObject()
            .put("content", new JsonObject().put("type", "string").put("description", "the fact, self-contained"))
            .put("about", new JsonObject().put("type", "string").put("enum", new JsonArray().add("user").add("conversation"))
                .put("description", "whether the fact is about the person asking or about this conversation/group")))
        .put("required", new JsonArray().add("content"));
  }

  @Override
  public Future<String> run(SkillCall call) {
    if (call.memoryScopes().isEmpty()) {
      return Future.failedFuture("this run has no memory");
    }
    String scope = pick(call.memoryScopes(), "conversation".equals(call.arguments().getString("about")) ? "conversation:" : "user:");
    JsonObject add = new JsonObject().put("content", call.arguments().getString("content")).put("scope", scope)
        .put("source", new JsonObject().put("channel", "agent").put("ref", call.ref()));
    return call.vertx().eventBus().<JsonObject>request(Addresses.MEMORY_ADD, add)
        .map(m -> "remembered (" + m.body().getString("status") + ")");
  }

  /** The first scope of the wanted kind, else the run's first scope. */
  private static String pick(List<String> scopes, String prefix) {
    return scopes.stream().filter(s -> s.startsWith(prefix)).findFirst().orElse(scopes.get(0));
  }
}
