package dev.switchboard.channel;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.Map;

/**
 * A reply to one Feishu message: {@code POST /open-apis/im/v1/messages/{message_id}/reply} with a
 * tenant access token; {@code content} is a JSON string, and the delivery id is the idempotency
 * {@code uuid}.
 */
record FeishuReplyBot(FeishuApp app, String messageId, TenantTokens tokens) implements ReplyBot {

  /** Invalid or expired tenant token. */
  static final java.util.Set<Integer> BAD_TOKEN = java.util.Set.of(99991663, 99991661, 99991668);
  static final int THROTTLED = 99991400;

  @Override
  public String channel() {
    return "feishu";
  }

  @Override
  public Duration platformThrottlePause() {
    return Duration.ofSeconds(1);
  }

  @Override
  public Future<Map<String, String>> authHeaders() {
    return tokens.token(app).map(t -> Map.of("Authorization", "Bearer " + t));
  }

  @Override
  public java.util.List<String> parts(String text) {
    return Texts.split(text, FeishuBot.MAX_TEXT_BYTES);
  }

  @Override
  public Request request(String text, String deliveryId, long nowMillis) {
    JsonObject body = new JsonObject()
        .put("msg_type", "text")
        .put("content", new JsonObject().put("text", Texts.fit(text, FeishuBot.MAX_TEXT_BYTES)).encode())
        .put("uuid", deliveryId);
    return new Request(app.baseUrl() + "/open-apis/im/v1/messages/" + messageId + "/reply",
        Map.of("Content-Type", "application/json; charset=utf-8"), body.toBuffer());
  }

  @Override
  public Answer read(int httpStatus, String body) {
    JsonObject response = new JsonObject().put("http_status", httpStatus);
    Integer code = null;
    try {
      JsonObject json = new JsonObject(body);
      code = json.getValue("code") instanceof Number n ? n.intValue() : null;
      response.put("code", code).put("msg", json.getValue("msg"));
    } catch (RuntimeException notJson) {
      response.put("body", Texts.clip(body, 500));
    }
    if (httpStatus == 200 && code != null && code == 0) {
      return new Answer(Verdict.DELIVERED, response);
    }
    if (code != null && BAD_TOKEN.contains(code)) {
      tokens.forget(app);
      return new Answer(Verdict.RETRY, response);
    }
    if (code != null && code == THROTTLED || httpStatus == 429) {
      return new Answer(Verdict.THROTTLED, response);
    }
    return new Answer(httpStatus >= 500 || code == null ? Verdict.RETRY : Verdict.FAILED, response);
  }
}
