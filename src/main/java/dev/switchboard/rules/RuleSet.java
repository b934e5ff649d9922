package dev.switchboard.rules;

import dev.switchboard.config.ConfigError;
import dev.switchboard.config.ConfigNode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The rules of one version of {@code rules.yaml}, checked as a whole: names unique, on_error rules present. */
record RuleSet(List<Rule> rules, Map<String, Rule> byName) {

  static final int MAX_RULES = 200;

  static final RuleSet EMPTY = new RuleSet(List.of(), Map.of());

  static RuleSet parse(ConfigNode root, Action.Channels channels) {
    root.allowOnly("rules");
    List<ConfigNode> nodes = root.get("rules").list();
    if (nodes.size() > MAX_RULES) {
      throw root.get("rules").error("at most " + MAX_RULES + " rules, got " + nodes.size());
    }
    List<Rule> rules = new ArrayList<>();
    Map<String, Rule> byName = new LinkedHashMap<>();
    for (ConfigNode node : nodes) {
      Rule rule = Rule.parse(node, channels);
      if (byName.putIfAbsent(rule.name(), rule) != null) {
        throw new ConfigError(node.file(), node.path() + ".name", "rule '" + rule.name() + "': another rule has this name");
      }
      rules.add(rule);
    }
    Set<String> names = new HashSet<>(byName.keySet());
    for (int i = 0; i < rules.size(); i++) {
      Rule rule = rules.get(i);
      if (rule.onError() != null && !names.contains(rule.onError())) {
        throw new ConfigError(nodes.get(i).file(), nodes.get(i).path() + ".on_error",
            "rule '" + rule.name() + "': no rule named '" + rule.onError() + "'");
      }
    }
    return new RuleSet(List.copyOf(rules), Map.copyOf(byName));
  }
}
