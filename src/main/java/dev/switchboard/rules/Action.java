package dev.switchboard.rules;

import dev.switchboard.config.ConfigNode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiFunction;

/**
 * One step of a rule's {@code do:}, its templates compiled. {@link #render} gives what would be
 * done as JSON (what {@code POST /api/v1/rules/test} shows); the verticle executes that JSON.
 */
record Action(String kind, Map<String, Object> spec) {

  static final List<String> KINDS = List.of("agent", "push", "webhook", "remember", "emit", "task");

  /** (type, bot) → why rules cannot push there, if they cannot. */
  interface Channels extends BiFunction<String, String, Optional<String>> {
    Channels ANY = (type, bot) -> Optional.empty();
  }

  static Action parse(ConfigNode item, Channels channels) {
    List<String> keys = item.keys();
    if (keys.size() != 1) {
      throw item.error("each action is one of " + String.join(", ", KINDS)
          + (keys.isEmpty() ? "" : " (got " + String.join(", ", keys) + ")"));
    }
    String kind = keys.get(0);
    ConfigNode n = item.get(kind);
    Map<String, Object> spec = new java.util.LinkedHashMap<>();
    switch (kind) {
      case "agent" -> {
        n.allowOnly("prompt", "model", "memory_scopes", "channels", "reply", "skills");
        spec.put("skills", n.get("skills").isMissing() ? null : n.get("skills").strings());
        spec.put("prompt", Template.of(n.get("prompt").string("{{event.text}}")));
        spec.put("model", n.get("model").string(""));
        spec.put("memory_scopes", templates(n.get("memory_scopes")));
        spec.put("channels", channels(n.get("channels"), channels));
        spec.put("reply", n.get("reply").bool(false));
      }
      case "push" -> {
        n.allowOnly("channels", "text", "message");
        List<Object> targets = channels(n.get("channels"), channels);
        if (targets.isEmpty()) {
          throw n.get("channels").error("a push needs at least one channel ({type, bot})");
        }
        if (n.get("text").isMissing() == n.get("message").isMissing()) {
          throw n.error("give either text or message (a platform-native body)");
        }
        spec.put("channels", targets);
        spec.put("text", n.get("text").isMissing() ? null : Template.of(n.get("text").string("")));
        spec.put("message", n.get("message").isMissing() ? null : Template.compileDeep(object(n.get("message"))));
      }
      case "webhook" -> {
        n.allowOnly("name", "body", "headers");
        String name = n.get("name").requiredString();
        channels.apply("webhook", name).ifPresent(why -> {
          throw n.get("name").error(why);
        });
        if (!n.get("headers").keys().isEmpty()) {
          // the webhook channel signs and sends a fixed set of headers; dropping these silently would be worse
          throw n.get("headers").error("extra headers are not supported by the webhook channel yet; put them in the body");
        }
        spec.put("name", name);
        spec.put("body", n.get("body").isMissing() ? null : Template.compileDeep(object(n.get("body"))));
      }
      case "remember" -> {
        n.allowOnly("content", "scope");
        spec.put("content", Template.of(n.get("content").requiredString()));
        spec.put("scope", Template.of(n.get("scope").requiredString()));
      }
      case "emit" -> {
        n.allowOnly("type", "body");
        String type = n.get("type").requiredString();
        if (List.of("message", "webhook", "alert", "schedule", "task", "delivery", "provider").contains(type)) {
          throw n.get("type").error("'" + type + "' is raised by the gateway itself; emit an event type of your own");
        }
        spec.put("type", type);
        spec.put("body", n.get("body").isMissing() ? new java.util.LinkedHashMap<>() : Template.compileDeep(object(n.get("body"))));
      }
      case "task" -> {
        n.allowOnly("input", "model", "channels", "priority", "memory_scopes", "max_attempts", "skills");
        spec.put("skills", n.get("skills").isMissing() ? null : n.get("skills").strings());
        spec.put("input", Template.of(n.get("input").requiredString()));
        spec.put("model", n.get("model").string(""));
        spec.put("channels", channels(n.get("channels"), channels));
        spec.put("priority", n.get("priority").oneOf(dev.switchboard.bus.TaskSubmission.Priority.class,
            dev.switchboard.bus.TaskSubmission.Priority.NORMAL).label());
        spec.put("memory_scopes", templates(n.get("memory_scopes")));
        spec.put("max_attempts", n.get("max_attempts").integer(0, 1, 100));
      }
      default -> throw item.error("unknown action '" + kind + "' (known: " + String.join(", ", KINDS) + ")");
    }
    return new Action(kind, spec);
  }

  private static Object object(ConfigNode n) {
    Object raw = n.raw();
    if (!(raw instanceof Map)) {
      throw n.error("expected a mapping (a JSON object)");
    }
    return raw;
  }

  private static List<Object> templates(ConfigNode n) {
    List<Object> out = new ArrayList<>();
    for (String s : n.strings()) {
      out.add(Template.of(s));
    }
    return out;
  }

  /** [{type, bot, message?}]: a rule pushes to bots that can push (not to app bots, which only answer). */
  private static List<Object> channels(ConfigNode n, Channels check) {
    List<Object> out = new ArrayList<>();
    for (ConfigNode c : n.list()) {
      c.allowOnly("type", "bot", "message");
      String type = c.get("type").requiredString();
      String bot = c.get("bot").string("default");
      check.apply(type, bot).ifPresent(why -> {
        throw c.error(why);
      });
      Map<String, Object> target = new java.util.LinkedHashMap<>();
      target.put("type", type);
      target.put("bot", bot);
      if (!c.get("message").isMissing()) {
        target.put("message", Template.compileDeep(object(c.get("message"))));
      }
      out.add(target);
    }
    return out;
  }

  /** What this action would do with this context, as JSON; templates rendered, nothing executed. */
  JsonObject render(Map<String, Object> context) {
    JsonObject out = new JsonObject().put("kind", kind);
    spec.forEach((key, value) -> out.put(key, renderValue(value, context)));
    if ("agent".equals(kind) && out.getString("prompt", "").isBlank()) {
      throw new IllegalStateException("agent: the prompt is empty for this event (give prompt:)");
    }
    return out;
  }

  private static Object renderValue(Object value, Map<String, Object> context) {
    if (value instanceof Template || value instanceof Map || value instanceof List) {
      return Template.renderDeep(value, context);
    }
    return value;
  }

  static JsonArray list(List<Action> actions, Map<String, Object> context) {
    JsonArray out = new JsonArray();
    actions.forEach(a -> out.add(a.render(context)));
    return out;
  }
}
