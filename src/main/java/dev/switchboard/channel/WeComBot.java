package dev.switchboard.channel;

import dev.switchboard.config.ConfigNode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** A WeCom (企业微信) group robot: outbound only, no signature (the key in its URL is the secret). */
record WeComBot(String name, String webhook, String template, List<String> mentionUsers, List<String> mentionMobiles,
                String offReason, RateLimit rateLimit, Retry retry, boolean markdown) implements Bot {

  static final RateLimit LIMIT = new RateLimit(20, Duration.ofMinutes(1));
  static final int THROTTLED = 45009;
  /** Text content is limited to 2048 bytes. */
  static final int MAX_TEXT_BYTES = 2048;
  static final int MAX_MARKDOWN_BYTES = 4096;

  static WeComBot from(ConfigNode node, ConfigNode raw) {
    node.allowOnly("name", "webhook", "template", "format", "mentions", "rate_limit", "retry", "enabled");
    String webhook = BotConfig.url(node.get("webhook"));
    ConfigNode mentions = node.get("mentions");
    mentions.allowOnly("users", "mobiles");
    String off = !node.get("enabled").bool(true) ? "disabled" : webhook.isEmpty() ? BotConfig.unset("webhook", raw) : null;
    return new WeComBot(node.get("name").requiredString(), webhook, node.get("template").string("{result}"),
        mentions.get("users").strings(), mentions.get("mobiles").strings(), off,
        BotConfig.rateLimit(node.get("rate_limit"), LIMIT.messages(), LIMIT.per()),
        BotConfig.retry(node.get("retry")), BotConfig.markdown(node.get("format")));
  }

  @Override
  public String channel() {
    return "wecom";
  }

  JsonObject textMessage(String text) {
    JsonObject content = new JsonObject().put("content", Texts.fit(template.replace("{result}", text), MAX_TEXT_BYTES));
    if (!mentionUsers.isEmpty()) {
      content.put("mentioned_list", new JsonArray(mentionUsers));
    }
    if (!mentionMobiles.isEmpty()) {
      content.put("mentioned_mobile_list", new JsonArray(mentionMobiles));
    }
    return new JsonObject().put("msgtype", "text").put("text", content);
  }

  @Override
  public Duration platformThrottlePause() {
    return Duration.ofMinutes(1);
  }

  /** Markdown (up to 4096 bytes) has no mention lists: users are named with {@code <@userid>} in the text. */
  JsonObject markdownMessage(String text) {
    StringBuilder content = new StringBuilder(template.replace("{result}", text));
    mentionUsers.forEach(u -> content.append(" <@").append(u).append('>'));
    return new JsonObject().put("msgtype", "markdown")
        .put("markdown", new JsonObject().put("content", Texts.fit(content.toString(), MAX_MARKDOWN_BYTES)));
  }

  static final java.util.Set<String> MSGTYPES = java.util.Set.of("text", "markdown", "news", "template_card", "image", "file");

  @Override
  public String refuseNative(JsonObject body) {
    return Bot.refuseUnlessTyped(body, "msgtype", MSGTYPES, "WeCom robot");
  }

  @Override
  public Request nativeRequest(JsonObject body, String deliveryId, long nowMillis) {
    return new Request(webhook, Map.of("Content-Type", "application/json; charset=utf-8"), body.toBuffer());
  }

  @Override
  public java.util.List<String> parts(String text) {
    if (!markdown) {
      return Texts.parts(text, template, MAX_TEXT_BYTES, 0);
    }
    int mentions = 0;
    for (String u : mentionUsers) {
      mentions += 4 + u.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
    }
    return Texts.parts(text, template, MAX_MARKDOWN_BYTES, mentions);
  }

  @Override
  public Request request(String text, String deliveryId, long nowMillis) {
    return new Request(webhook, Map.of("Content-Type", "application/json; charset=utf-8"),
        (markdown ? markdownMessage(text) : textMessage(text)).toBuffer());
  }

  @Override
  public Answer read(int httpStatus, String body) {
    return Bot.errcodeAnswer(httpStatus, body, THROTTLED);
  }
}
