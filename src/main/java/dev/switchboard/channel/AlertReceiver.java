package dev.switchboard.channel;

import dev.switchboard.config.ConfigNode;

/**
 * One {@code alertmanager:} entry of channels.yaml: where {@code POST /webhooks/alertmanager/{name}}
 * takes Alertmanager's webhook notifications. Authenticated by {@code token} (Alertmanager's
 * {@code http_config.authorization} sends {@code Authorization: Bearer <token>}) or by
 * {@code secret} (signed like our inbound hooks, for a relay that signs); either one that is set
 * and matches lets a request in.
 */
public record AlertReceiver(String name, String token, String secret, String offReason) {

  static AlertReceiver from(ConfigNode node, ConfigNode raw) {
    node.allowOnly("name", "token", "secret", "enabled");
    String name = node.get("name").requiredString();
    boolean on = node.get("enabled").bool(true);
    String token = node.get("token").stringIfSet("");
    String secret = node.get("secret").stringIfSet("");
    String off = !on ? "disabled"
        : token.isEmpty() && secret.isEmpty() ? BotConfig.unset("token", raw) + ", " + BotConfig.unset("secret", raw) : null;
    return new AlertReceiver(name, token, secret, off);
  }
}
