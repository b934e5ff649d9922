package dev.switchboard.channel;

import dev.switchboard.config.ConfigNode;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * A generic outbound webhook: a JSON POST signed like inbound ones, with
 * {@code x-switchboard-timestamp} (unix seconds) and
 * {@code x-switchboard-signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>}.
 */
record WebhookBot(String name, String url, String secret, String template, String offReason, RateLimit rateLimit,
                  Retry retry) implements Bot {

  static final RateLimit LIMIT = new RateLimit(600, Duration.ofMinutes(1));

  static WebhookBot from(ConfigNode node, ConfigNode raw) {
    node.allowOnly("name", "url", "secret", "template", "rate_limit", "retry", "enabled");
    String url = BotConfig.url(node.get("url"));
    String secret = node.get("secret").stringIfSet("");
    String off = !node.get("enabled").bool(true) ? "disabled"
        : url.isEmpty() ? BotConfig.unset("url", raw)
        : secret.isEmpty() ? BotConfig.unset("secret", raw) : null;
    return new WebhookBot(node.get("name").requiredString(), url, secret, node.get("template").string("{result}"), off,
        BotConfig.rateLimit(node.get("rate_limit"), LIMIT.messages(), LIMIT.per()),
        BotConfig.retry(node.get("retry")));
  }

  static String signature(String secret, long timestampSeconds, Buffer body) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      mac.update((timestampSeconds + ".").getBytes(StandardCharsets.UTF_8));
      return "sha256=" + HexFormat.of().formatHex(mac.doFinal(body.getBytes()));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }

  @Override
  public String channel() {
    return "webhook";
  }

  @Override
  public Duration platformThrottlePause() {
    return Duration.ofSeconds(5);
  }

  @Override
  public String refuseNative(JsonObject body) {
    return null;
  }

  /** Any JSON object, signed like text messages. */
  @Override
  public Request nativeRequest(JsonObject message, String deliveryId, long nowMillis) {
    long ts = nowMillis / 1000;
    Buffer body = message.toBuffer();
    return new Request(url, Map.of(
        "Content-Type", "application/json; charset=utf-8",
        "x-switchboard-timestamp", String.valueOf(ts),
        "x-switchboard-delivery", deliveryId,
        "x-switchboard-signature", signature(secret, ts, body)), body);
  }

  /** The delivery id is the same on every attempt, so the receiver can drop repeats. */
  @Override
  public Request request(String text, String deliveryId, long nowMillis) {
    long ts = nowMillis / 1000;
    Buffer body = new JsonObject().put("text", template.replace("{result}", text)).put("sent_at", ts).toBuffer();
    return new Request(url, Map.of(
        "Content-Type", "application/json; charset=utf-8",
        "x-switchboard-timestamp", String.valueOf(ts),
        "x-switchboard-delivery", deliveryId,
        "x-switchboard-signature", signature(secret, ts, body)), body);
  }

  @Override
  public Answer read(int httpStatus, String body) {
    JsonObject response = new JsonObject().put("http_status", httpStatus).put("body", Texts.clip(body, 500));
    Verdict verdict = httpStatus / 100 == 2 ? Verdict.DELIVERED
        : httpStatus == 429 ? Verdict.THROTTLED
        : httpStatus >= 500 || httpStatus == 408 ? Verdict.RETRY
        : Verdict.FAILED;
    return new Answer(verdict, response);
  }
}
