package dev.switchboard.rules;

import dev.switchboard.config.ConfigError;
import dev.switchboard.config.ConfigNode;
import io.vertx.core.json.JsonObject;
import java.time.DateTimeException;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.util.List;
import java.util.Set;

/**
 * A rule's {@code on:}: which events it looks at. Exactly one kind per rule; the event's
 * {@code type} decides first, then the kind's own filter. {@code schedule} rules are fired by the
 * scheduler by name, so their trigger only has to be valid here ({@link #schedule} is what the
 * scheduler is given).
 */
record Trigger(String kind, String value, MessageFilter message, JsonObject schedule) {

  static final List<String> KINDS = List.of("message", "webhook", "schedule", "task", "delivery", "provider", "alert", "event");

  /** Texts longer than this are matched on their first part only, so one huge message costs little. */
  static final int MAX_MATCHED_TEXT = 65_536;
  static final int MAX_PATTERN = 1_000;

  /** {@code on: {message: {...}}}; each filter is optional, a list of values means any of them. */
  record MessageFilter(List<String> platforms, List<String> bots, String conversationType, List<String> conversationIds,
                       List<String> senders, com.google.re2j.Pattern text, Boolean mentioned) {

    boolean matches(JsonObject e) {
      JsonObject conversation = e.getValue("conversation") instanceof JsonObject c ? c : new JsonObject();
      JsonObject sender = e.getValue("sender") instanceof JsonObject s ? s : new JsonObject();
      String text = e.getValue("text") instanceof String t ? t : "";
      if (text.length() > MAX_MATCHED_TEXT) {
        text = text.substring(0, MAX_MATCHED_TEXT);
      }
      return any(platforms, e.getValue("platform"))
          && any(bots, e.getValue("bot"))
          && (conversationType == null || conversationType.equals(conversation.getValue("type")))
          && any(conversationIds, conversation.getValue("id"))
          && (any(senders, sender.getValue("id")) || !senders.isEmpty() && any(senders, sender.getValue("name")))
          && (this.text == null || this.text.matcher(text).find())
          && (mentioned == null || mentioned.equals(e.getValue("mentioned") instanceof Boolean b ? b : Boolean.FALSE));
    }

    private static boolean any(List<String> wanted, Object actual) {
      return wanted.isEmpty() || actual != null && wanted.contains(String.valueOf(actual));
    }
  }

  static Trigger parse(ConfigNode on) {
    List<String> keys = on.keys();
    if (keys.size() != 1) {
      throw on.error("needs exactly one trigger, one of " + String.join(", ", KINDS)
          + (keys.isEmpty() ? "" : " (got " + String.join(", ", keys) + ")"));
    }
    String kind = keys.get(0);
    ConfigNode node = on.get(kind);
    return switch (kind) {
      case "message" -> new Trigger(kind, null, message(node), null);
      case "webhook", "alert", "event" -> new Trigger(kind, node.requiredString(), null, null);
      case "task" -> new Trigger(kind, oneOf(node, Set.of("succeeded", "failed")), null, null);
      case "delivery" -> new Trigger(kind, oneOf(node, Set.of("failed", "dead")), null, null);
      case "provider" -> new Trigger(kind, oneOf(node, Set.of("down", "up")), null, null);
      case "schedule" -> new Trigger(kind, null, null, schedule(node));
      default -> throw new ConfigError(on.file(), on.path() + "." + kind,
          "unknown trigger (known: " + String.join(", ", KINDS) + ")");
    };
  }

  private static String oneOf(ConfigNode node, Set<String> allowed) {
    String v = node.requiredString();
    if (!allowed.contains(v)) {
      throw node.error("must be one of " + String.join(", ", allowed.stream().sorted().toList()) + ", got '" + v + "'");
    }
    return v;
  }

  private static MessageFilter message(ConfigNode node) {
    if (node.isMissing()) {
      return new MessageFilter(List.of(), List.of(), null, List.of(), List.of(), null, null);
    }
    node.allowOnly("platform", "bot", "conversation", "sender", "text", "mentioned");
    List<String> platforms = node.get("platform").strings();
    for (String p : platforms) {
      if (!Set.of("dingtalk", "feishu", "wecom").contains(p)) {
        throw node.get("platform").error("must be dingtalk, feishu or wecom, got '" + p + "'");
      }
    }
    ConfigNode conversation = node.get("conversation");
    String type = null;
    List<String> ids = List.of();
    if (!conversation.keys().isEmpty()) {
      conversation.allowOnly("id", "type");
      ids = conversation.get("id").strings();
      type = conversation.get("type").string("");
    } else if (!conversation.isMissing()) {
      type = conversation.string("");
    }
    if (type != null && type.isEmpty()) {
      type = null;
    }
    if (type != null && !type.equals("direct") && !type.equals("group")) {
      throw conversation.error("type must be direct or group, got '" + type + "'");
    }
    ConfigNode sender = node.get("sender");
    List<String> senders;
    if (!sender.keys().isEmpty()) {
      sender.allowOnly("id", "name");
      senders = new java.util.ArrayList<>(sender.get("id").strings());
      senders.addAll(sender.get("name").strings());
    } else {
      senders = sender.strings();
    }
    com.google.re2j.Pattern text = null;
    String pattern = node.get("text").string("");
    if (!pattern.isEmpty()) {
      if (pattern.length() > MAX_PATTERN) {
        throw node.get("text").error("pattern longer than " + MAX_PATTERN + " characters");
      }
      try {
        text = com.google.re2j.Pattern.compile(pattern);
      } catch (com.google.re2j.PatternSyntaxException e) {
        throw node.get("text").error("not a valid pattern: " + e.getMessage());
      }
    }
    Boolean mentioned = node.get("mentioned").isMissing() ? null : node.get("mentioned").bool(false);
    return new MessageFilter(platforms, node.get("bot").strings(), type, ids, List.copyOf(senders), text, mentioned);
  }

  /** The schedule as the scheduler is given it: {cron | every | at, timezone, misfire, jitter}, checked here. */
  private static JsonObject schedule(ConfigNode node) {
    node.allowOnly("cron", "every", "at", "timezone", "misfire", "jitter");
    JsonObject out = new JsonObject();
    int kinds = 0;
    String cron = node.get("cron").string("");
    if (!cron.isEmpty()) {
      kinds++;
      int fields = cron.trim().split("\\s+").length;
      if (fields < 6 || fields > 7) {
        throw node.get("cron").error("expected a Quartz cron with seconds (6 or 7 fields, e.g. \"0 0 9 * * ?\"), got '" + cron + "'");
      }
      out.put("cron", cron);
    }
    if (!node.get("every").isMissing()) {
      kinds++;
      java.time.Duration every = node.get("every").duration(null);
      if (every.compareTo(java.time.Duration.ofSeconds(1)) < 0) {
        throw node.get("every").error("must be at least 1s");
      }
      out.put("every", node.get("every").string(""));
    }
    String at = node.get("at").string("");
    if (!at.isEmpty()) {
      kinds++;
      try {
        OffsetDateTime.parse(at);
      } catch (DateTimeException e) {
        throw node.get("at").error("expected an ISO-8601 time with an offset, such as 2026-12-01T09:00:00+08:00, got '" + at + "'");
      }
      out.put("at", at);
    }
    if (kinds != 1) {
      throw node.error("needs exactly one of cron, every or at");
    }
    String zone = node.get("timezone").string("Asia/Shanghai");
    try {
      ZoneId.of(zone);
    } catch (DateTimeException e) {
      throw node.get("timezone").error("unknown time zone '" + zone + "'");
    }
    out.put("timezone", zone);
    String misfire = node.get("misfire").string("skip");
    if (!misfire.equals("skip") && !misfire.equals("run_once")) {
      throw node.get("misfire").error("must be skip or run_once, got '" + misfire + "'");
    }
    out.put("misfire", misfire);
    if (!node.get("jitter").isMissing()) {
      node.get("jitter").duration(null);
      out.put("jitter", node.get("jitter").string(""));
    }
    return out;
  }

  /** Whether an event (not a schedule firing: those name their rule) is one this trigger looks at. */
  boolean matches(JsonObject e) {
    String type = e.getString("type", "");
    return switch (kind) {
      case "message" -> "message".equals(type) && message.matches(e);
      case "webhook" -> "webhook".equals(type) && value.equals(e.getValue("hook"));
      case "alert" -> "alert".equals(type) && value.equals(e.getValue("name"));
      case "event" -> value.equals(type);
      case "task" -> "task".equals(type) && value.equals(field(e, "task", "status"));
      case "delivery" -> "delivery".equals(type) && value.equals(field(e, "delivery", "status"));
      case "provider" -> "provider".equals(type) && value.equals(e.getValue("state"));
      default -> false;
    };
  }

  private static Object field(JsonObject e, String object, String key) {
    return e.getValue(object) instanceof JsonObject o ? o.getValue(key) : null;
  }
}
