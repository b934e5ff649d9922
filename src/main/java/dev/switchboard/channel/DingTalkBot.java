package dev.switchboard.channel;

import dev.switchboard.config.ConfigNode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.util.List;

/**
 * A DingTalk custom group robot (outbound only). It is off until both its webhook and its 加签
 * secret are set: an unsigned push would be refused by a robot that signs, and silently accepted
 * by one that does not, which is not a state to run in by accident.
 */
public record DingTalkBot(String name, String webhook, String secret, String template,
                          List<String> atMobiles, List<String> atUserIds, boolean atAll, boolean enabled) {

  public static final String DEFAULT_TEMPLATE = "任务执行结果:{result}";

  static DingTalkBot from(ConfigNode node) {
    node.allowOnly("name", "webhook", "secret", "template", "at", "rate_limit", "enabled", "allow",
        "reply_in_groups", "app_key", "app_secret", "robot_code", "mode", "api_base");
    String name = node.get("name").requiredString();
    String webhook = node.get("webhook").string("");
    if (!webhook.isEmpty()) {
      try {
        URI uri = URI.create(webhook);
        if (!"https".equals(uri.getScheme()) && !"http".equals(uri.getScheme()) || uri.getHost() == null) {
          throw node.get("webhook").error("expected an https:// URL, got '" + webhook + "'");
        }
      } catch (IllegalArgumentException e) {
        throw node.get("webhook").error("not a URL: '" + webhook + "'");
      }
    }
    ConfigNode at = node.get("at");
    at.allowOnly("mobiles", "user_ids", "all");
    String secret = node.get("secret").string("");
    boolean enabled = node.get("enabled").bool(true) && !webhook.isEmpty() && !secret.isEmpty();
    return new DingTalkBot(name, webhook, secret,
        node.get("template").string(DEFAULT_TEMPLATE),
        at.get("mobiles").strings(), at.get("user_ids").strings(), at.get("all").bool(false), enabled);
  }

  /** The text message body, exactly as the custom robot API takes it. */
  public JsonObject textMessage(String result) {
    JsonObject atJson = new JsonObject().put("atMobiles", new JsonArray(atMobiles));
    if (!atUserIds.isEmpty()) {
      atJson.put("atUserIds", new JsonArray(atUserIds));
    }
    atJson.put("isAtAll", atAll);
    return new JsonObject()
        .put("msgtype", "text")
        .put("text", new JsonObject().put("content", template.replace("{result}", result)))
        .put("at", atJson);
  }

  String describe() {
    if (webhook.isEmpty()) {
      return "dingtalk/" + name + " (off: webhook unset)";
    }
    if (secret.isEmpty()) {
      return "dingtalk/" + name + " (off: secret unset)";
    }
    return "dingtalk/" + name + (enabled ? "" : " (off)");
  }
}
