package dev.switchboard.channel;

import dev.switchboard.config.ConfigNode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A DingTalk custom group robot (outbound only). It is off until both its webhook and its 加签
 * secret are set: an unsigned push would be refused by a robot that signs, and silently accepted
 * by one that does not, which is not a state to run in by accident.
 */
public record DingTalkBot(String name, String webhook, String secret, String template,
                          List<String> atMobiles, List<String> atUserIds, boolean atAll, String offReason,
                          RateLimit rateLimit, Retry retry, boolean markdown) implements Bot {

  public static final String DEFAULT_TEMPLATE = "任务执行结果:{result}";
  /** DingTalk: 20 messages a minute per robot, then 10 minutes of throttling. */
  static final RateLimit LIMIT = new RateLimit(20, Duration.ofMinutes(1));
  /** Platform answer for "send too fast". */
  static final int THROTTLED = 130101;
  /** Text content limit, in bytes, with room for the JSON around it. */
  static final int MAX_TEXT_BYTES = 18_000;

  static DingTalkBot from(ConfigNode node, ConfigNode raw) {
    // app robots (with app_key) are read by DingTalkApp; their keys here would be silently ignored
    node.allowOnly("name", "webhook", "secret", "template", "format", "at", "rate_limit", "retry", "enabled");
    String name = node.get("name").requiredString();
    String webhook = BotConfig.url(node.get("webhook"));
    String secret = node.get("secret").stringIfSet("");
    ConfigNode at = node.get("at");
    at.allowOnly("mobiles", "user_ids", "all");
    String off = !node.get("enabled").bool(true) ? "disabled"
        : webhook.isEmpty() ? BotConfig.unset("webhook", raw)
        : secret.isEmpty() ? BotConfig.unset("secret", raw) : null;
    return new DingTalkBot(name, webhook, secret, node.get("template").string(DEFAULT_TEMPLATE),
        at.get("mobiles").strings(), at.get("user_ids").strings(), at.get("all").bool(false), off,
        BotConfig.rateLimit(node.get("rate_limit"), LIMIT.messages(), LIMIT.per()),
        BotConfig.retry(node.get("retry")), BotConfig.markdown(node.get("format")));
  }

  @Override
  public String channel() {
    return "dingtalk";
  }

  public boolean enabled() {
    return offReason == null;
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
        .put("text", new JsonObject().put("content", Texts.fit(template.replace("{result}", result), MAX_TEXT_BYTES)))
        .put("at", atJson);
  }

  /** "超过20条，会限流10分钟". */
  @Override
  public Duration platformThrottlePause() {
    return Duration.ofMinutes(10);
  }

  /**
   * The markdown body. Mentions render only when the text names them, so {@code @mobile} and
   * {@code @userId} are appended for everyone in {@code at}.
   */
  public JsonObject markdownMessage(String result) {
    StringBuilder text = new StringBuilder(template.replace("{result}", result));
    atMobiles.forEach(m -> text.append(" @").append(m));
    atUserIds.forEach(u -> text.append(" @").append(u));
    JsonObject atJson = new JsonObject().put("atMobiles", new JsonArray(atMobiles));
    if (!atUserIds.isEmpty()) {
      atJson.put("atUserIds", new JsonArray(atUserIds));
    }
    atJson.put("isAtAll", atAll);
    return new JsonObject()
        .put("msgtype", "markdown")
        .put("markdown", new JsonObject().put("title", Texts.title(result, "Switchboard"))
            .put("text", Texts.fit(text.toString(), MAX_TEXT_BYTES)))
        .put("at", atJson);
  }

  @Override
  public java.util.List<String> parts(String text) {
    int mentions = 0;
    if (markdown) {
      for (String m : atMobiles) {
        mentions += 2 + m.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
      }
      for (String u : atUserIds) {
        mentions += 2 + u.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
      }
    }
    return Texts.parts(text, template, MAX_TEXT_BYTES, mentions);
  }

  @Override
  public Request request(String text, String deliveryId, long nowMillis) {
    return new Request(DingTalkSigner.signedUrl(webhook, secret, nowMillis),
        Map.of("Content-Type", "application/json; charset=utf-8"),
        (markdown ? markdownMessage(text) : textMessage(text)).toBuffer());
  }

  static final java.util.Set<String> MSGTYPES = java.util.Set.of("text", "markdown", "link", "actionCard", "feedCard");

  @Override
  public String refuseNative(JsonObject body) {
    return Bot.refuseUnlessTyped(body, "msgtype", MSGTYPES, "DingTalk robot");
  }

  /** The body as given, with the bot's {@code at} when it has none: mentions belong to the bot's settings. */
  @Override
  public Request nativeRequest(JsonObject body, String deliveryId, long nowMillis) {
    JsonObject out = body.copy();
    if (!out.containsKey("at") && ("text".equals(out.getString("msgtype")) || "markdown".equals(out.getString("msgtype")))) {
      out.put("at", textMessage("").getJsonObject("at"));
    }
    return new Request(DingTalkSigner.signedUrl(webhook, secret, nowMillis),
        Map.of("Content-Type", "application/json; charset=utf-8"), out.toBuffer());
  }

  @Override
  public Answer read(int httpStatus, String body) {
    return Bot.errcodeAnswer(httpStatus, body, THROTTLED);
  }
}
