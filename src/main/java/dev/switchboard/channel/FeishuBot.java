package dev.switchboard.channel;

import dev.switchboard.config.ConfigNode;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * A Feishu/Lark custom bot (outbound only). Signing differs from DingTalk's: the key is
 * {@code timestamp + "\n" + secret} (timestamp in seconds), the message is empty, and the result
 * goes into the JSON body, not the URL. Without a secret it sends unsigned (keyword or IP
 * protected bots).
 */
record FeishuBot(String name, String webhook, String secret, String template, String offReason, RateLimit rateLimit, Retry retry,
                 boolean markdown, String note) implements Bot {

  FeishuBot(String name, String webhook, String secret, String template, String offReason, RateLimit rateLimit, Retry retry,
            boolean markdown) {
    this(name, webhook, secret, template, offReason, rateLimit, retry, markdown, secret.isEmpty() ? "unsigned" : null);
  }

  /** Feishu: 100 a minute and 5 a second per bot; the minute limit is the one configured by default. */
  static final RateLimit LIMIT = new RateLimit(100, Duration.ofMinutes(1));
  static final int THROTTLED = 11232;
  /** Request bodies may be 20 KB. */
  static final int MAX_TEXT_BYTES = 18_000;

  static FeishuBot from(ConfigNode node, ConfigNode raw) {
    node.allowOnly("name", "webhook", "secret", "template", "format", "rate_limit", "retry", "enabled");
    String webhook = BotConfig.url(node.get("webhook"));
    String off = !node.get("enabled").bool(true) ? "disabled" : webhook.isEmpty() ? BotConfig.unset("webhook", raw) : null;
    return new FeishuBot(node.get("name").requiredString(), webhook, node.get("secret").stringIfSet(""),
        node.get("template").string("{result}"), off,
        BotConfig.rateLimit(node.get("rate_limit"), LIMIT.messages(), LIMIT.per()),
        BotConfig.retry(node.get("retry")), BotConfig.markdown(node.get("format")),
        // Feishu lets a custom bot go unsigned (keyword or IP protected), so an unset secret does not
        // turn it off; the start-up line says it is unsigned and which variable would sign it
        node.get("secret").stringIfSet("").isEmpty() ? "unsigned: " + BotConfig.unset("secret", raw) : null);
  }

  /** Base64(HmacSHA256(key = timestamp + "\n" + secret, message = empty)). */
  static String sign(long timestampSeconds, String secret) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec((timestampSeconds + "\n" + secret).getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      return Base64.getEncoder().encodeToString(mac.doFinal(new byte[0]));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }

  /** Feishu also allows at most 5 a second per bot. */
  static final RateLimit PER_SECOND = new RateLimit(5, Duration.ofSeconds(1));

  @Override
  public java.util.List<RateLimit> rateLimits() {
    return java.util.List.of(rateLimit, PER_SECOND);
  }

  @Override
  public String channel() {
    return "feishu";
  }

  @Override
  public java.util.List<String> parts(String text) {
    return Texts.parts(text, template, MAX_TEXT_BYTES, 0);
  }

  JsonObject textMessage(String text, long nowMillis) {
    JsonObject body = new JsonObject();
    if (!secret.isEmpty()) {
      long ts = nowMillis / 1000;
      body.put("timestamp", String.valueOf(ts)).put("sign", sign(ts, secret));
    }
    String content = Texts.fit(template.replace("{result}", text), MAX_TEXT_BYTES);
    if (markdown) {
      // the custom bot's markdown is a card: the card is an object under "card", not a string
      return body.put("msg_type", "interactive").put("card", new JsonObject()
          .put("header", new JsonObject().put("title", new JsonObject().put("tag", "plain_text")
              .put("content", Texts.title(text, "Switchboard"))))
          .put("elements", new io.vertx.core.json.JsonArray().add(new JsonObject().put("tag", "div")
              .put("text", new JsonObject().put("tag", "lark_md").put("content", content)))));
    }
    return body.put("msg_type", "text").put("content", new JsonObject().put("text", content));
  }

  @Override
  public Duration platformThrottlePause() {
    return Duration.ofSeconds(1);
  }

  static final java.util.Set<String> MSG_TYPES = java.util.Set.of("text", "post", "interactive", "image", "share_chat");

  @Override
  public String refuseNative(JsonObject body) {
    String type = body.getString("msg_type");
    if (!MSG_TYPES.contains(type)) {
      return "a Feishu bot message needs msg_type text, post, interactive, image or share_chat, got " + type;
    }
    return "interactive".equals(type) ? (body.getValue("card") instanceof JsonObject ? null : "an interactive message needs a 'card' object")
        : (body.getValue("content") instanceof JsonObject ? null : "a Feishu '" + type + "' message needs a 'content' object");
  }

  /** The body as given, signed: {@code timestamp} and {@code sign} go into it. */
  @Override
  public Request nativeRequest(JsonObject body, String deliveryId, long nowMillis) {
    JsonObject out = body.copy();
    if (!secret.isEmpty()) {
      long ts = nowMillis / 1000;
      out.put("timestamp", String.valueOf(ts)).put("sign", sign(ts, secret));
    }
    return new Request(webhook, Map.of("Content-Type", "application/json; charset=utf-8"), out.toBuffer());
  }

  @Override
  public Request request(String text, String deliveryId, long nowMillis) {
    return new Request(webhook, Map.of("Content-Type", "application/json; charset=utf-8"),
        textMessage(text, nowMillis).toBuffer());
  }

  /** Success is {@code code == 0}, or, from older bots, no {@code code} and {@code StatusCode == 0}. */
  @Override
  public Answer read(int httpStatus, String body) {
    JsonObject response = new JsonObject().put("http_status", httpStatus);
    if (httpStatus >= 500) {
      return new Answer(Verdict.RETRY, response.put("body", Texts.clip(body, 500)));
    }
    Integer code = null;
    try {
      JsonObject json = new JsonObject(body);
      Object c = json.containsKey("code") ? json.getValue("code") : json.getValue("StatusCode");
      code = c instanceof Number n ? n.intValue() : null;
      response.put("code", code).put("msg", json.containsKey("msg") ? json.getValue("msg") : json.getValue("StatusMessage"));
    } catch (RuntimeException notJson) {
      response.put("body", Texts.clip(body, 500));
      return new Answer(Verdict.RETRY, response);
    }
    if (httpStatus == 200 && code != null && code == 0) {
      return new Answer(Verdict.DELIVERED, response);
    }
    if (code != null && code == THROTTLED || httpStatus == 429) {
      return new Answer(Verdict.THROTTLED, response);
    }
    return new Answer(Verdict.FAILED, response);
  }
}
