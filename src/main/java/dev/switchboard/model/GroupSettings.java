package dev.switchboard.model;

import dev.switchboard.config.ConfigNode;
import java.util.ArrayList;
import java.util.List;

/**
 * A model group (alias) that clients name in {@code model}: deployments in priority tiers, a
 * routing strategy, tags a deployment must carry, and groups to fall back on.
 */
public record GroupSettings(String name, Strategy strategy, List<DeploymentSettings> deployments,
                            List<String> requireTags, List<String> fallbacks, String contextWindowFallback) {

  public enum Strategy { PRIORITY, LEAST_LATENCY, LEAST_BUSY }

  /** One provider + upstream model inside a group; a lower {@code priority} number is tried first. */
  public record DeploymentSettings(String provider, String model, int priority, int weight) {
  }

  static GroupSettings from(ConfigNode node) {
    node.allowOnly("name", "strategy", "deployments", "require_tags", "fallbacks", "context_window_fallback");
    String name = node.get("name").requiredString();
    List<DeploymentSettings> deployments = new ArrayList<>();
    for (ConfigNode d : node.get("deployments").list()) {
      d.allowOnly("provider", "model", "priority", "weight");
      deployments.add(new DeploymentSettings(d.get("provider").requiredString(), d.get("model").requiredString(),
          d.get("priority").integer(1, 0, 1000), d.get("weight").integer(1, 0, 1_000_000)));
    }
    if (deployments.isEmpty()) {
      throw node.get("deployments").error("a group needs at least one deployment");
    }
    return new GroupSettings(name, node.get("strategy").oneOf(Strategy.class, Strategy.PRIORITY), List.copyOf(deployments),
        node.get("require_tags").strings(), node.get("fallbacks").strings(), node.get("context_window_fallback").string(""));
  }
}
