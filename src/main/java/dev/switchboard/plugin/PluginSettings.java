package dev.switchboard.plugin;

import dev.switchboard.config.ConfigNode;

/**
 * {@code plugins:} in {@code switchboard.yaml}. {@code verify: false} loads jars that
 * {@code plugins/catalog.yaml} does not vouch for (for development; start-up says so).
 */
public record PluginSettings(boolean verify) {

  public static final PluginSettings DEFAULT = new PluginSettings(true);

  public static PluginSettings from(ConfigNode node) {
    node.allowOnly("verify");
    return new PluginSettings(node.get("verify").bool(true));
  }
}
