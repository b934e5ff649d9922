package dev.switchboard.mcp;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.Failure;
import dev.switchboard.bus.PushRequest;
import dev.switchboard.bus.TaskSubmission;
import dev.switchboard.memory.LongTermMemory;
import dev.switchboard.security.Principal;
import dev.switchboard.security.RouteAccess;
import dev.switchboard.security.RouteFamily;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;

/**
 * Switchboard's own operations as MCP tools: each one a JSON schema for its arguments and a call of
 * the component that owns the answer, over the bus (the same addresses the HTTP API uses). A tool
 * never fails the JSON-RPC request: bad arguments and refusals are {@code isError} results whose
 * text says what to change, so the calling model can correct itself; a success is the component's
 * JSON as text (and as {@code structuredContent} for clients of 2025-06-18 and later).
 */
public final class McpTools {

  /** The principal of the token the call came with, and the arguments as sent. */
  record Call(Principal principal, Args args) {

    String subject() {
      return principal.subject();
    }
  }

  /** {@code family}: what the tool does, as the HTTP route that does the same (the token's roles and scope must allow it). */
  private record Tool(String name, String title, String description, JsonObject inputSchema, RouteFamily family,
                      Function<Call, Future<JsonObject>> run) {

    JsonObject describe() {
      return new JsonObject().put("name", name).put("title", title).put("description", description)
          .put("inputSchema", inputSchema);
    }
  }

  private static final Set<String> PRIORITIES = Set.of("high", "normal", "low");
  private static final Set<String> DELIVERY_STATES = Set.of("pending", "delivered", "failed", "dead");

  private final EventBus bus;
  private final Map<String, Tool> tools = new LinkedHashMap<>();
  /** The caller's bucket for a tool's family (security.rate_limits), taken before the tool runs. */
  private final Limiter limiter;

  /** Takes from the subject's bucket for a family (reached by way of /mcp), or fails with the 429. */
  public interface Limiter {
    Limiter NONE = (subject, family) -> Future.succeededFuture();

    Future<Void> take(String subject, RouteFamily family);
  }

  public McpTools(Vertx vertx) {
    this(vertx, Limiter.NONE);
  }

  public McpTools(Vertx vertx, Limiter limiter) {
    this.bus = vertx.eventBus();
    this.limiter = limiter;
    add(new Tool("submit_task", "Submit a task",
        "Queue an agent task in Switchboard: the agent answers 'input' (with its skills and memories) and pushes the "
            + "result to the given channels. Returns the task's id and status; follow it with get_task.",
        schema(new JsonObject()
                .put("input", string("what the agent should do"))
                .put("model", string("a model or group name; the gateway's default when left out"))
                .put("channels", new JsonObject().put("type", "array").put("maxItems", 16)
                    .put("description", "where the result is pushed, e.g. [{\"type\":\"dingtalk\",\"bot\":\"default\"}]")
                    .put("items", schema(new JsonObject()
                        .put("type", string("the platform: dingtalk, feishu, wecom or webhook"))
                        .put("bot", string("the bot's name in channels.yaml (default: \"default\")")), "type")))
                .put("memory_scopes", strings("long-term memory scopes the agent recalls from and remembers into, "
                    + "e.g. [\"user:alice\"] (the first is the default)", 8))
                .put("skills", strings("the skills the agent may call (default: the safe built-ins)", 32))
                .put("priority", new JsonObject().put("type", "string").put("enum", new JsonArray().add("high").add("normal").add("low"))
                    .put("description", "queue priority (default: normal)"))
                .put("idempotency_key", string("the same key submits the task once, however often it is sent")),
            "input"),
        RouteFamily.TASKS, this::submitTask));
    add(new Tool("get_task", "Get a task",
        "A task's status (queued, running, succeeded, failed, cancelled), attempts, result or error, and deliveries.",
        schema(new JsonObject().put("id", string("the task id submit_task returned")), "id"),
        RouteFamily.TASKS, this::getTask));
    add(new Tool("push_message", "Push a message to a bot",
        "Send a text to a configured bot now (through its rate limit and retries). Returns the delivery record; "
            + "list_deliveries shows how it went.",
        schema(new JsonObject()
                .put("channel", string("the platform: dingtalk, feishu, wecom or webhook"))
                .put("bot", string("the bot's name in channels.yaml (default: \"default\")"))
                .put("text", string("the message")),
            "channel", "text"),
        RouteFamily.DELIVERIES, this::pushMessage));
    add(new Tool("search_memories", "Search long-term memories",
        "Search the long-term memories of one or more scopes by meaning and keywords; the best matches first, with scores.",
        schema(new JsonObject()
                .put("q", string("what to look for"))
                .put("scope", string("a scope: user:<id>, conversation:<platform>:<id>, agent:<name> or tenant:<id>"))
                .put("scopes", strings("several scopes at once (instead of 'scope')", 8))
                .put("limit", integer("how many memories at most (default 5)", 1, 100)),
            "q"),
        RouteFamily.MEMORIES_READ, this::searchMemories));
    add(new Tool("add_memory", "Add a long-term memory",
        "Store a fact in a long-term memory scope. Returns its id and whether it was created, a duplicate, or an update.",
        schema(new JsonObject()
                .put("content", string("the fact to remember"))
                .put("scope", string("a scope: user:<id>, conversation:<platform>:<id>, agent:<name> or tenant:<id>")),
            "content", "scope"),
        RouteFamily.MEMORIES_WRITE, this::addMemory));
    add(new Tool("list_deliveries", "List deliveries",
        "Delivery records of pushes to bots, newest first: status, attempts, last error.",
        schema(new JsonObject()
                .put("status", new JsonObject().put("type", "string")
                    .put("enum", new JsonArray().add("pending").add("delivered").add("failed").add("dead")))
                .put("channel", string("only this platform"))
                .put("bot", string("only this bot"))
                .put("limit", integer("how many records at most (default 20)", 1, 1000))
                .put("cursor", integer("the next_cursor of the previous page", 0, Integer.MAX_VALUE))),
        RouteFamily.DELIVERIES, this::listDeliveries));
  }

  private void add(Tool tool) {
    tools.put(tool.name(), tool);
  }

  /** The {@code tools/list} entries: those this token may call, so a model is not offered what it would be refused. */
  public JsonArray list(Principal principal) {
    JsonArray out = new JsonArray();
    tools.values().stream().filter(t -> principal.permits(t.family())).forEach(t -> out.add(t.describe()));
    return out;
  }

  public boolean has(String name) {
    return tools.containsKey(name);
  }

  /** Runs a tool that {@link #has} this name; the future always succeeds with a {@code CallToolResult}. */
  public Future<JsonObject> call(String name, JsonObject arguments, Principal principal, boolean structured) {
    Tool tool = tools.get(name);
    Future<JsonObject> run;
    try {
      RouteAccess.checkFamily(principal, tool.family());
      // a family's rate limit holds over /mcp too: submit_task takes from the caller's tasks bucket
      run = limiter.take(principal.subject(), tool.family())
          .compose(v -> tool.run().apply(new Call(principal, new Args(tool.inputSchema(), arguments))));
    } catch (RuntimeException e) {
      run = Future.failedFuture(e);
    }
    return run.map(json -> success(json, structured))
        .otherwise(e -> error(name + ": " + Failure.from(e).getMessage()));
  }

  // ---------------------------------------------------------------------------------------------
  // the tools

  private Future<JsonObject> submitTask(Call call) {
    Args a = call.args();
    String input = a.string("input", true);
    String priority = a.oneOf("priority", PRIORITIES);
    List<TaskSubmission.Target> targets = new ArrayList<>();
    for (JsonObject c : a.objects("channels")) {
      if (!(c.getValue("type") instanceof String type) || type.isBlank()) {
        throw Args.bad("each of 'channels' needs a string 'type' (dingtalk, feishu, wecom or webhook)");
      }
      Object bot = c.getValue("bot", "default");
      if (!(bot instanceof String b) || b.isBlank()) {
        throw Args.bad("a channel's 'bot' must be a bot's name (a string)");
      }
      targets.add(new TaskSubmission.Target(type, b));
    }
    List<String> scopes = a.strings("memory_scopes");
    scopes.forEach(LongTermMemory::checkScope);
    RouteAccess.checkMemoryScopes(call.principal(), scopes, true);
    List<String> skills = a.has("skills") ? a.strings("skills") : null;
    if (skills != null) {
      for (String s : skills) {
        if (!s.matches("[A-Za-z0-9_-]{1,64}")) {
          throw Args.bad("'skills' must be skill names (letters, digits, _ and -), got '" + s + "'");
        }
      }
    }
    String key = a.string("idempotency_key", false);
    if (key != null && key.length() > 255) {
      throw Args.bad("'idempotency_key' must be at most 255 characters");
    }
    TaskSubmission submission = new TaskSubmission(input, a.string("model", false), List.copyOf(targets),
        priority == null ? TaskSubmission.Priority.NORMAL : TaskSubmission.Priority.valueOf(priority.toUpperCase(Locale.ROOT)),
        key, call.subject(), null, 0, scopes, 0, 0, null, skills);
    return bus.<JsonObject>request(Addresses.TASK_SUBMIT, submission).map(m -> m.body());
  }

  private Future<JsonObject> getTask(Call call) {
    String id = call.args().string("id", true);
    return bus.<JsonObject>request(Addresses.TASK_GET, id).map(m -> m.body()).compose(task ->
        call.principal() == null || call.principal().maySee(task) ? Future.succeededFuture(task)
            : Future.failedFuture(dev.switchboard.bus.Failure.notFound("task_not_found", "no task '" + id + "'")));
  }

  private Future<JsonObject> pushMessage(Call call) {
    Args a = call.args();
    String channel = a.string("channel", true);
    String bot = a.string("bot", false);
    String text = a.string("text", true);
    String b = bot == null ? "default" : bot;
    // checked first, so an unknown bot is a clear refusal rather than a dead delivery record; each
    // call is its own delivery (the channel component records pushes once per key and bot)
    return bus.request(Addresses.CHANNEL_CHECK, new TaskSubmission.Target(channel, b))
        .compose(ok -> bus.<JsonObject>request(Addresses.CHANNEL_PUSH,
            new PushRequest(channel, b, text, "mcp:" + UUID.randomUUID(), null)))
        .map(m -> m.body());
  }

  private Future<JsonObject> searchMemories(Call call) {
    Args a = call.args();
    String q = a.string("q", true);
    List<String> scopes = new ArrayList<>(a.strings("scopes"));
    String scope = a.string("scope", false);
    if (scope != null) {
      scopes.add(0, scope);
    }
    if (scopes.isEmpty()) {
      throw Args.bad("give 'scope' (or 'scopes'): user:<id>, conversation:<platform>:<id>, agent:<name> or tenant:<id>");
    }
    scopes.forEach(LongTermMemory::checkScope);
    RouteAccess.checkMemoryScopes(call.principal(), scopes, false);
    JsonObject query = new JsonObject().put("q", q).put("scopes", new JsonArray(scopes))
        .put("k", a.integer("limit", 5, 1, 100));
    return bus.<JsonObject>request(Addresses.MEMORY_SEARCH, query).map(m -> m.body());
  }

  private Future<JsonObject> addMemory(Call call) {
    Args a = call.args();
    String scope = LongTermMemory.checkScope(a.string("scope", true));
    RouteAccess.checkMemoryScopes(call.principal(), List.of(scope), true);
    JsonObject memory = new JsonObject()
        .put("content", a.string("content", true))
        .put("scope", scope)
        .put("source", new JsonObject().put("channel", "mcp").put("user", call.subject().isEmpty() ? null : call.subject()));
    return bus.<JsonObject>request(Addresses.MEMORY_ADD, memory).map(m -> m.body());
  }

  private Future<JsonObject> listDeliveries(Call call) {
    Args a = call.args();
    JsonObject query = new JsonObject()
        .put("status", a.oneOf("status", DELIVERY_STATES))
        .put("channel", a.string("channel", false))
        .put("bot", a.string("bot", false))
        .put("limit", a.integer("limit", 20, 1, 1000))
        .put("cursor", (long) a.integer("cursor", 0, 0, Integer.MAX_VALUE));
    return bus.<JsonObject>request(Addresses.CHANNEL_DELIVERIES, query).map(m -> m.body());
  }

  // ---------------------------------------------------------------------------------------------
  // results and schemas

  private static JsonObject success(JsonObject json, boolean structured) {
    JsonObject result = new JsonObject()
        .put("content", new JsonArray().add(new JsonObject().put("type", "text").put("text", json.encode())))
        .put("isError", false);
    if (structured) {
      result.put("structuredContent", json);
    }
    return result;
  }

  static JsonObject error(String text) {
    return new JsonObject()
        .put("content", new JsonArray().add(new JsonObject().put("type", "text").put("text", text)))
        .put("isError", true);
  }

  private static JsonObject schema(JsonObject properties, String... required) {
    JsonObject schema = new JsonObject().put("type", "object").put("properties", properties)
        .put("additionalProperties", false);
    if (required.length > 0) {
      schema.put("required", new JsonArray(List.of(required)));
    }
    return schema;
  }

  private static JsonObject string(String description) {
    return new JsonObject().put("type", "string").put("description", description);
  }

  private static JsonObject strings(String description, int max) {
    return new JsonObject().put("type", "array").put("items", new JsonObject().put("type", "string"))
        .put("maxItems", max).put("description", description);
  }

  private static JsonObject integer(String description, int min, int max) {
    return new JsonObject().put("type", "integer").put("minimum", min).put("maximum", max).put("description", description);
  }

  /**
   * A tool's arguments, read against its schema: an argument the schema does not name, or one of
   * the wrong type, is refused with a sentence naming it (clients need not validate before sending).
   */
  static final class Args {
    private final JsonObject schema;
    private final JsonObject values;

    Args(JsonObject schema, JsonObject values) {
      this.schema = schema;
      this.values = values == null ? new JsonObject() : values;
      JsonObject properties = schema.getJsonObject("properties");
      for (String name : this.values.fieldNames()) {
        if (!properties.containsKey(name)) {
          throw bad("unknown argument '" + name + "'; the arguments are: " + String.join(", ", properties.fieldNames()));
        }
      }
    }

    static Failure bad(String message) {
      return Failure.badRequest("invalid_arguments", message);
    }

    boolean has(String name) {
      return values.getValue(name) != null;
    }

    String string(String name, boolean required) {
      Object v = values.getValue(name);
      if (v == null || (v instanceof String s && s.isBlank())) {
        if (required) {
          throw bad("'" + name + "' is required (a non-empty string)");
        }
        return null;
      }
      if (!(v instanceof String s)) {
        throw bad("'" + name + "' must be a string");
      }
      return s;
    }

    String oneOf(String name, Set<String> allowed) {
      String s = string(name, false);
      if (s != null && !allowed.contains(s)) {
        throw bad("'" + name + "' must be one of " + String.join(", ", allowed.stream().sorted().toList()) + ", got '" + s + "'");
      }
      return s;
    }

    int integer(String name, int fallback, int min, int max) {
      Object v = values.getValue(name);
      if (v == null) {
        return fallback;
      }
      if (v instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue()) && n.doubleValue() >= min
          && n.doubleValue() <= max) {
        return n.intValue();
      }
      throw bad("'" + name + "' must be a whole number from " + min + " to " + max);
    }

    List<String> strings(String name) {
      Object v = values.getValue(name);
      if (v == null) {
        return List.of();
      }
      int max = schema.getJsonObject("properties").getJsonObject(name).getInteger("maxItems", 100);
      if (!(v instanceof JsonArray a) || a.size() > max || !a.stream().allMatch(x -> x instanceof String)) {
        throw bad("'" + name + "' must be a list of at most " + max + " strings");
      }
      List<String> out = new ArrayList<>();
      a.forEach(x -> out.add((String) x));
      return out;
    }

    List<JsonObject> objects(String name) {
      Object v = values.getValue(name);
      if (v == null) {
        return List.of();
      }
      int max = schema.getJsonObject("properties").getJsonObject(name).getInteger("maxItems", 100);
      if (!(v instanceof JsonArray a) || a.size() > max || !a.stream().allMatch(x -> x instanceof JsonObject)) {
        throw bad("'" + name + "' must be a list of at most " + max + " objects");
      }
      // the items' own names are checked too: a key the schema does not name would be dropped unseen
      JsonObject items = schema.getJsonObject("properties").getJsonObject(name).getJsonObject("items");
      JsonObject known = items == null ? null : items.getJsonObject("properties");
      List<JsonObject> out = new ArrayList<>();
      for (Object x : a) {
        JsonObject o = (JsonObject) x;
        for (String key : o.fieldNames()) {
          if (known != null && !known.containsKey(key)) {
            throw bad("unknown key '" + key + "' in '" + name + "'; each takes: " + String.join(", ", known.fieldNames()));
          }
        }
        out.add(o);
      }
      return out;
    }
  }
}
