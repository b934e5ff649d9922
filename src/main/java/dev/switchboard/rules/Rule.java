package dev.switchboard.rules;

import dev.switchboard.config.ConfigError;
import dev.switchboard.config.ConfigNode;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * One rule as loaded: {@code name}, {@code on} (trigger), {@code if} (CEL, may be null), {@code do}
 * (actions), {@code rate_limit} {fires, per}, {@code cooldown}, {@code on_error} (a rule fired when
 * this one fails), {@code enabled}. {@code definition} is the rule as written, for listings.
 */
record Rule(String name, boolean enabled, Trigger trigger, Condition condition, List<Action> actions, int fires,
            Duration per, Duration cooldown, String onError, JsonObject definition) {

  static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}");

  /**
   * The rule at {@code node}; any problem is a {@link ConfigError} whose problem names the rule,
   * so that the log line, the 400 of a PUT and /readyz all say which rule is wrong.
   */
  static Rule parse(ConfigNode node, Action.Channels channels) {
    String name = node.get("name").requiredString();
    if (!NAME.matcher(name).matches()) {
      throw node.get("name").error("rule names are 1-64 letters, digits and _.:- (got '" + name + "')");
    }
    try {
      node.allowOnly("name", "description", "enabled", "on", "if", "do", "rate_limit", "cooldown", "on_error");
      if (node.get("on").isMissing()) {
        throw node.get("on").error("is required (what the rule reacts to)");
      }
      Trigger trigger = Trigger.parse(node.get("on"));
      String expression = node.get("if").string("");
      Condition condition = null;
      if (!expression.isEmpty()) {
        try {
          condition = Condition.compile(expression);
        } catch (IllegalArgumentException e) {
          throw node.get("if").error(e.getMessage());
        }
      }
      List<ConfigNode> items = node.get("do").list();
      if (items.isEmpty()) {
        throw node.get("do").error("needs at least one action");
      }
      List<Action> actions = new ArrayList<>();
      for (ConfigNode item : items) {
        try {
          actions.add(Action.parse(item, channels));
        } catch (IllegalArgumentException e) {
          throw item.error(e.getMessage());
        }
      }
      ConfigNode rate = node.get("rate_limit");
      rate.allowOnly("fires", "per");
      int fires = rate.get("fires").integer(0, 1, 1_000_000);
      Duration per = rate.get("per").duration(Duration.ofMinutes(1));
      if (!rate.isMissing() && fires == 0) {
        throw rate.get("fires").error("is required with rate_limit");
      }
      String onError = node.get("on_error").string("");
      if (onError.equals(name)) {
        throw node.get("on_error").error("a rule cannot be its own on_error rule");
      }
      JsonObject definition = (JsonObject) Plain.json(node.raw());
      return new Rule(name, node.get("enabled").bool(true), trigger, condition, List.copyOf(actions), fires, per,
          node.get("cooldown").duration(Duration.ZERO), onError.isEmpty() ? null : onError, definition);
    } catch (ConfigError e) {
      throw new ConfigError(e.file(), e.key(), "rule '" + name + "': " + e.problem());
    }
  }

  boolean isSchedule() {
    return "schedule".equals(trigger.kind());
  }
}
