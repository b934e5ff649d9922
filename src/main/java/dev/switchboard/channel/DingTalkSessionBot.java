package dev.switchboard.channel;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.Map;

/**
 * A reply in a DingTalk conversation through the {@code sessionWebhook} the callback carried: a
 * custom-robot style body, no signature, valid until the session expires.
 */
record DingTalkSessionBot(DingTalkApp app, String sessionWebhook, JsonArray atUserIds) implements Bot {

  static DingTalkSessionBot of(DingTalkApp app, JsonObject address) {
    return new DingTalkSessionBot(app, address.getString("session_webhook"), address.getJsonArray("at_user_ids", new JsonArray()));
  }

  @Override
  public String channel() {
    return "dingtalk";
  }

  @Override
  public String name() {
    return app.name();
  }

  @Override
  public String offReason() {
    return app.offReason();
  }

  @Override
  public RateLimit rateLimit() {
    return app.rateLimit();
  }

  @Override
  public Retry retry() {
    return app.retry();
  }

  @Override
  public Duration platformThrottlePause() {
    return Duration.ofMinutes(10);
  }

  @Override
  public Request request(String text, String deliveryId, long nowMillis) {
    JsonObject body = new JsonObject()
        .put("msgtype", "text")
        .put("text", new JsonObject().put("content", Texts.fit(app.template().replace("{result}", text), DingTalkBot.MAX_TEXT_BYTES)));
    if (!atUserIds.isEmpty()) {
      body.put("at", new JsonObject().put("atUserIds", atUserIds));
    }
    return new Request(sessionWebhook, Map.of("Content-Type", "application/json; charset=utf-8"), body.toBuffer());
  }

  @Override
  public Answer read(int httpStatus, String body) {
    return Bot.errcodeAnswer(httpStatus, body, DingTalkBot.THROTTLED);
  }
}
