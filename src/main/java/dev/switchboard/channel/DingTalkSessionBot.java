package dev.switchboard.channel;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.Map;

/**
 * A reply in a DingTalk conversation: through the {@code sessionWebhook} the message carried while
 * it is valid (a custom-robot style body, no signature); after it expires, as the robot, through the
 * OpenAPI with the app's access token ({@code groupMessages/send} in groups, {@code oToMessages/batchSend}
 * one to one).
 */
record DingTalkSessionBot(DingTalkApp app, JsonObject address, TenantTokens tokens) implements ReplyBot {

  static DingTalkSessionBot of(DingTalkApp app, JsonObject address, TenantTokens tokens) {
    return new DingTalkSessionBot(app, address, tokens);
  }

  /**
   * Null when the session webhook may be posted to; else why not. Checked when the message
   * arrives and again here, before every push: the address comes from a delivery record, and a
   * record written by an older build or edited in the store must not send answers elsewhere.
   */
  String refusal() {
    Object url = address.getValue("session_webhook");
    return url instanceof String s ? app.sessionWebhookRefusal(s) : "the reply has no sessionWebhook";
  }

  @Override
  public String offReason() {
    return app.offReason() != null ? app.offReason() : refusal();
  }

  private JsonArray atUserIds() {
    return address.getJsonArray("at_user_ids", new JsonArray());
  }

  /** Whether the session webhook is past its expiry (with a minute to spare). */
  boolean expired(long nowMillis) {
    Object at = address.getValue("expires_at");
    return at instanceof Number n && n.longValue() - 60_000 <= nowMillis;
  }

  @Override
  public io.vertx.core.Future<Map<String, String>> authHeaders() {
    if (!expired(System.currentTimeMillis()) || tokens == null) {
      return io.vertx.core.Future.succeededFuture(Map.of());
    }
    return tokens.token(app).map(t -> Map.of("x-acs-dingtalk-access-token", t));
  }

  @Override
  public String channel() {
    return "dingtalk";
  }

  @Override
  public Duration platformThrottlePause() {
    return Duration.ofMinutes(10);
  }

  @Override
  public java.util.List<String> parts(String text) {
    return Texts.parts(text, app.template(), DingTalkBot.MAX_TEXT_BYTES, 0);
  }

  @Override
  public Request request(String text, String deliveryId, long nowMillis) {
    String content = Texts.fit(app.template().replace("{result}", text), DingTalkBot.MAX_TEXT_BYTES);
    if (expired(nowMillis)) {
      return robotRequest(content);
    }
    JsonObject body = new JsonObject()
        .put("msgtype", "text")
        .put("text", new JsonObject().put("content", content));
    if (!atUserIds().isEmpty()) {
      body.put("at", new JsonObject().put("atUserIds", atUserIds()));
    }
    return new Request(address.getString("session_webhook"), Map.of("Content-Type", "application/json; charset=utf-8"), body.toBuffer());
  }

  /** As the robot: the sample text template, to the group or to the sender. */
  private Request robotRequest(String content) {
    JsonObject body = new JsonObject()
        .put("robotCode", app.robotCode().isEmpty() ? app.appKey() : app.robotCode())
        .put("msgKey", "sampleText")
        .put("msgParam", new JsonObject().put("content", content).encode());
    String path;
    if ("2".equals(address.getString("conversation_type"))) {
      path = "/v1.0/robot/groupMessages/send";
      body.put("openConversationId", address.getString("conversation_id"));
    } else {
      path = "/v1.0/robot/oToMessages/batchSend";
      body.put("userIds", new JsonArray().add(address.getString("sender_staff_id", "")));
    }
    return new Request(app.apiBase() + path, Map.of("Content-Type", "application/json"), body.toBuffer());
  }

  /** Session webhooks answer errcode/errmsg; the OpenAPI answers 200 with a query key, or an HTTP error. */
  @Override
  public Answer read(int httpStatus, String body) {
    JsonObject json = null;
    try {
      json = new JsonObject(body);
    } catch (RuntimeException notJson) {
      // judged by status below
    }
    if (json != null && json.containsKey("errcode")) {
      return Bot.errcodeAnswer(httpStatus, body, DingTalkBot.THROTTLED);
    }
    JsonObject response = new JsonObject().put("http_status", httpStatus).put("body", Texts.clip(body, 500));
    if (httpStatus == 401 || httpStatus == 403) {
      tokens.forget(app);
      return new Answer(Verdict.RETRY, response);
    }
    Verdict verdict = httpStatus == 200 ? Verdict.DELIVERED
        : httpStatus == 429 ? Verdict.THROTTLED
        : httpStatus >= 500 ? Verdict.RETRY : Verdict.FAILED;
    return new Answer(verdict, response);
  }
}
