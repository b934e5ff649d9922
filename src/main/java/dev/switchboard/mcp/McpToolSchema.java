package dev.switchboard.mcp;

import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An MCP tool's {@code inputSchema} as the {@code parameters} of an OpenAI function. OpenAI takes
 * only {@code {"type": "object", "properties": {...}}} at the top, without {@code anyOf},
 * {@code oneOf}, {@code allOf}, {@code enum} or {@code not} there; MCP servers send what their
 * schema library makes: a {@code $schema} draft marker, no {@code type} or no {@code properties},
 * a type list such as {@code ["object", "null"]}, a union of objects, or no schema at all. Below
 * the top the schema is passed on as the server wrote it.
 */
final class McpToolSchema {

  private static final Set<String> UNIONS = Set.of("anyOf", "oneOf");
  // written here from the server's, or dropped: what OpenAI refuses at the top of a function's parameters
  private static final Set<String> REWRITTEN = Set.of("$schema", "allOf", "anyOf", "oneOf", "enum", "not", "const",
      "type", "properties", "required");

  private McpToolSchema() {
  }

  /** The schema OpenAI accepts for the tool's arguments; {@code schema} is not changed. */
  static JsonObject parameters(Map<String, Object> schema) {
    JsonObject in = schema == null ? new JsonObject() : new JsonObject(Json.encode(schema));
    if (!isObject(in)) {
      // tools/call arguments are always an object, so a schema of anything else cannot describe them:
      // the model is offered no parameters rather than a schema the provider refuses
      return new JsonObject().put("type", "object").put("properties", new JsonObject());
    }
    JsonObject properties = new JsonObject();
    Set<String> required = new LinkedHashSet<>(strings(in.getValue("required")));
    if (in.getValue("properties") instanceof JsonObject own) {
      properties.mergeIn(own);
    }
    for (Object part : in.getValue("allOf") instanceof JsonArray all ? all : new JsonArray()) {
      if (part instanceof JsonObject branch && isObject(branch)) {
        absent(properties, branch);
        required.addAll(strings(branch.getValue("required")));
      }
    }
    for (String union : UNIONS) {
      if (in.getValue(union) instanceof JsonArray branches) {
        // one call matches one branch: each branch's properties may be given, and what every branch requires is required
        Set<String> everyBranch = null;
        for (Object part : branches) {
          if (part instanceof JsonObject branch && isObject(branch)) {
            absent(properties, branch);
            List<String> needs = strings(branch.getValue("required"));
            if (everyBranch == null) {
              everyBranch = new LinkedHashSet<>(needs);
            } else {
              everyBranch.retainAll(needs);
            }
          }
        }
        if (everyBranch != null) {
          required.addAll(everyBranch);
        }
      }
    }
    JsonObject out = new JsonObject().put("type", "object").put("properties", properties);
    if (!required.isEmpty()) {
      out.put("required", new JsonArray(new ArrayList<>(required)));
    }
    in.forEach(e -> {
      if (!REWRITTEN.contains(e.getKey())) {
        out.put(e.getKey(), e.getValue());
      }
    });
    return out;
  }

  /** Whether this schema describes an object: it says so, or says nothing of its type. */
  private static boolean isObject(JsonObject schema) {
    Object type = schema.getValue("type");
    return type == null || "object".equals(type) || (type instanceof JsonArray types && types.contains("object"));
  }

  /** The branch's properties that {@code into} does not have yet (the first definition of a name wins). */
  private static void absent(JsonObject into, JsonObject branch) {
    if (branch.getValue("properties") instanceof JsonObject more) {
      more.forEach(e -> {
        if (!into.containsKey(e.getKey())) {
          into.put(e.getKey(), e.getValue());
        }
      });
    }
  }

  private static List<String> strings(Object value) {
    List<String> out = new ArrayList<>();
    if (value instanceof JsonArray array) {
      for (Object item : array) {
        if (item instanceof String s) {
          out.add(s);
        }
      }
    }
    return out;
  }
}
