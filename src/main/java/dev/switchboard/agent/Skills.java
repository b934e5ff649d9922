package dev.switchboard.agent;

import dev.switchboard.bus.Addresses;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;

/**
 * The skills an agent task offers the model as OpenAI tools: {@code remember} (keep a durable
 * fact in long-term memory) and {@code recall} (search it). They act only within the task's own
 * memory scopes, so a model in one group chat cannot read or write another group's memories,
 * whatever it asks for. A failing skill answers the model with the error instead of failing the
 * task.
 */
public final class Skills {

  /** Tool rounds before the model must answer in words. */
  public static final int MAX_ROUNDS = 3;

  public static final JsonArray TOOLS = new JsonArray()
      .add(function("remember",
          "Store a durable fact worth knowing in later conversations (a preference, a decision, a name, a date). "
              + "One short, self-contained sentence per fact.",
          new JsonObject()
              .put("content", new JsonObject().put("type", "string").put("description", "the fact, self-contained"))
              .put("about", new JsonObject().put("type", "string").put("enum", new JsonArray().add("user").add("conversation"))
                  .put("description", "whether the fact is about the person asking or about this conversation/group")),
          "content"))
      .add(function("recall",
          "Search long-term memory for facts relevant to a question.",
          new JsonObject().put("query", new JsonObject().put("type", "string").put("description", "what to look for")),
          "query"));

  private Skills() {
  }

  private static JsonObject function(String name, String description, JsonObject properties, String required) {
    return new JsonObject().put("type", "function").put("function", new JsonObject()
        .put("name", name)
        .put("description", description)
        .put("parameters", new JsonObject().put("type", "object").put("properties", properties)
            .put("required", new JsonArray().add(required))));
  }

  /** Runs the model's tool calls in order; one {@code tool} message per call. */
  public static Future<JsonArray> run(Vertx vertx, JsonArray calls, List<String> scopes, String ref) {
    List<JsonObject> results = new ArrayList<>();
    Future<Void> chain = Future.succeededFuture();
    for (Object o : calls) {
      JsonObject call = (JsonObject) o;
      chain = chain.compose(v -> one(vertx, call, scopes, ref)
          .recover(e -> Future.succeededFuture("error: " + e.getMessage()))
          .map(content -> {
            results.add(new JsonObject().put("role", "tool").put("tool_call_id", call.getString("id")).put("content", content));
            return null;
          }));
    }
    return chain.map(v -> new JsonArray(new ArrayList<>(results)));
  }

  /** Answers for tool calls that will not be run (out of rounds). */
  public static JsonArray refusals(JsonArray calls) {
    JsonArray out = new JsonArray();
    for (Object o : calls) {
      out.add(new JsonObject().put("role", "tool").put("tool_call_id", ((JsonObject) o).getString("id"))
          .put("content", "not run: answer the user now with what you have"));
    }
    return out;
  }

  private static Future<String> one(Vertx vertx, JsonObject call, List<String> scopes, String ref) {
    JsonObject function = call.getJsonObject("function", new JsonObject());
    JsonObject args;
    try {
      args = new JsonObject(function.getString("arguments", "{}"));
    } catch (RuntimeException e) {
      return Future.succeededFuture("error: the arguments are not a JSON object");
    }
    String name = function.getString("name", "");
    switch (name) {
      case "remember" -> {
        String scope = pick(scopes, "conversation".equals(args.getString("about")) ? "conversation:" : "user:");
        JsonObject add = new JsonObject().put("content", args.getString("content")).put("scope", scope)
            .put("source", new JsonObject().put("channel", "agent").put("ref", ref));
        return vertx.eventBus().<JsonObject>request(Addresses.MEMORY_ADD, add)
            .map(m -> "remembered (" + m.body().getString("status") + ")");
      }
      case "recall" -> {
        JsonObject search = new JsonObject().put("q", args.getString("query")).put("scopes", new JsonArray(new ArrayList<>(scopes)))
            .put("k", 5);
        return vertx.eventBus().<JsonObject>request(Addresses.MEMORY_SEARCH, search).map(m -> {
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
      default -> {
        return Future.succeededFuture("error: no tool named '" + name + "'");
      }
    }
  }

  /** The first scope of the wanted kind, else the task's first scope. */
  private static String pick(List<String> scopes, String prefix) {
    return scopes.stream().filter(s -> s.startsWith(prefix)).findFirst().orElse(scopes.get(0));
  }
}
