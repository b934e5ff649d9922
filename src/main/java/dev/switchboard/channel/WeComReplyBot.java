package dev.switchboard.channel;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Set;

/**
 * A reply from a WeCom app: {@code message/send} to the member who wrote ({@code touser}) with
 * the app's agent id, or {@code appchat/send} to a group chat the app made ({@code chatid}), with
 * an access token from the app's corp secret. WeCom's own duplicate check stays off: it matches
 * by content, so it would drop a second identical answer to the same member.
 */
record WeComReplyBot(WeComApp app, String toUser, String chatId, TenantTokens tokens) implements Bot {

  /** 40014 invalid token, 42001 expired token, 40001 invalid credential: fetch a fresh one. */
  static final Set<Integer> BAD_TOKEN = Set.of(40014, 42001, 40001);
  /** API frequency limit. */
  static final int THROTTLED = 45009;

  /** The reply for this address ({@code touser} or {@code chatid}), or null when it names neither. */
  static WeComReplyBot of(WeComApp app, JsonObject address, TenantTokens tokens) {
    String user = address.getValue("touser") instanceof String u && !u.isBlank() ? u : null;
    String chat = address.getValue("chatid") instanceof String c && !c.isBlank() ? c : null;
    return user == null && chat == null ? null : new WeComReplyBot(app, user, chat, tokens);
  }

  @Override
  public String channel() {
    return "wecom";
  }

  @Override
  public String name() {
    return app.name();
  }

  @Override
  public String offReason() {
    return app.offReason() != null ? app.offReason() : app.replyOff();
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
    return Duration.ofMinutes(1);
  }

  @Override
  public Future<Map<String, String>> authHeaders() {
    return tokens.token(app).map(t -> Map.of(TOKEN, t));
  }

  /** Not a header: WeCom takes its token in the query, which {@link #authorize} puts there. */
  static final String TOKEN = "access_token";

  @Override
  public Request authorize(Request request, Map<String, String> auth) {
    String token = auth.get(TOKEN);
    return token == null ? request : new Request(request.url() + "?access_token=" + URLEncoder.encode(token, StandardCharsets.UTF_8),
        request.headers(), request.body());
  }

  @Override
  public java.util.List<String> parts(String text) {
    return Texts.split(text, WeComBot.MAX_TEXT_BYTES);
  }

  @Override
  public Request request(String text, String deliveryId, long nowMillis) {
    JsonObject body = new JsonObject()
        .put("msgtype", "text")
        .put("text", new JsonObject().put("content", Texts.fit(text, WeComBot.MAX_TEXT_BYTES)))
        .put("safe", 0);
    String path;
    if (toUser != null) {
      path = "/cgi-bin/message/send";
      // no enable_duplicate_check: WeCom matches duplicates by content, so a second "好的" to the same
      // member within the interval would be dropped while answering errcode 0; the delivery records
      // already keep a retry from sending twice
      body.put("touser", toUser).put("agentid", app.agentId());
    } else {
      path = "/cgi-bin/appchat/send";
      body.put("chatid", chatId);
    }
    return new Request(app.apiBase() + path, Map.of("Content-Type", "application/json; charset=utf-8"), body.toBuffer());
  }

  @Override
  public Answer read(int httpStatus, String body) {
    Answer answer = Bot.errcodeAnswer(httpStatus, body, THROTTLED);
    Object code = answer.response().getValue("errcode");
    if (code instanceof Number n && BAD_TOKEN.contains(n.intValue())) {
      tokens.forget(app);
      return new Answer(Verdict.RETRY, answer.response());
    }
    if (answer.verdict() == Verdict.DELIVERED) {
      // errcode 0 with the member listed as invalid: WeCom took the request and delivered nothing
      try {
        Object invalid = new JsonObject(body).getValue("invaliduser");
        if (invalid instanceof String s && !s.isBlank()) {
          return new Answer(Verdict.FAILED, answer.response().put("invaliduser", s));
        }
      } catch (RuntimeException ignored) {
        // errcodeAnswer read it already
      }
    }
    return answer;
  }
}
