package dev.switchboard.channel;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.Map;

/**
 * One outbound bot on one platform: how to build its HTTP request for a message, and how to read
 * its answer. The push verticle owns everything else (rate limits, retries, records), so a new
 * platform is one small class.
 */
public interface Bot {

  /** dingtalk, feishu, wecom or webhook. */
  String channel();

  String name();

  /** Null when the bot can push; else why it is off (which settings are missing). */
  String offReason();

  /**
   * What the start-up line should say about a bot that is on but not as fully set up as it could
   * be ({@code unsigned: secret unset (FEISHU_SECRET)}); null when there is nothing to say.
   */
  default String note() {
    return null;
  }

  /** At most {@code messages} per {@code per}; messages over it wait, in order. */
  RateLimit rateLimit();

  /** Every window the bot must respect: the configured one, and any the platform adds. */
  default java.util.List<RateLimit> rateLimits() {
    return java.util.List.of(rateLimit());
  }

  /**
   * The text as the messages it goes out in: one, or, over the platform's limit, several in order,
   * each within it (template and mentions counted), so that a long result is not cut. Must give
   * the same parts for the same text: a push resumed after a restart goes on from the part after
   * the last one delivered.
   */
  default java.util.List<String> parts(String text) {
    return java.util.List.of(text);
  }

  /** {@code deliveryId} stays the same across the attempts of one push. */
  Request request(String text, String deliveryId, long nowMillis);

  /**
   * Why this platform-native body cannot be sent, or null when it can. Bots that take only text
   * refuse every native body.
   */
  default String refuseNative(io.vertx.core.json.JsonObject body) {
    return "channel " + channel() + " takes no platform-native message bodies";
  }

  /**
   * The common shape of robot messages: {@code typeField} names one of {@code types}, and the body
   * holds an object under that name. Null when it does; else what is wrong.
   */
  static String refuseUnlessTyped(io.vertx.core.json.JsonObject body, String typeField, java.util.Set<String> types,
                                  String platform) {
    Object type = body.getValue(typeField);
    if (!(type instanceof String t) || !types.contains(t)) {
      return "a " + platform + " message needs " + typeField + " one of " + new java.util.TreeSet<>(types) + ", got " + type;
    }
    return body.getValue(t) instanceof io.vertx.core.json.JsonObject ? null
        : "a " + platform + " '" + t + "' message needs a '" + t + "' object";
  }

  /** The request for a platform-native body (already rendered: {@code {result}} replaced). */
  default Request nativeRequest(io.vertx.core.json.JsonObject body, String deliveryId, long nowMillis) {
    throw new IllegalStateException(refuseNative(body));
  }

  /** Headers that need a round trip first (an access token); most bots need none. */
  default io.vertx.core.Future<Map<String, String>> authHeaders() {
    return io.vertx.core.Future.succeededFuture(Map.of());
  }

  /** The request with what {@link #authHeaders()} fetched: as headers; a platform that takes its token elsewhere says so. */
  default Request authorize(Request request, Map<String, String> auth) {
    if (auth.isEmpty()) {
      return request;
    }
    Map<String, String> headers = new java.util.HashMap<>(request.headers());
    headers.putAll(auth);
    return new Request(request.url(), headers, request.body());
  }

  /** How long the platform holds a bot that went too fast: the least we wait after a throttle answer. */
  Duration platformThrottlePause();

  default Duration throttlePause() {
    return retry().throttlePause() != null ? retry().throttlePause() : platformThrottlePause();
  }

  /** What the platform's answer means. */
  Answer read(int httpStatus, String body);

  record RateLimit(int messages, Duration per) {
  }

  /** Retries of throttled or failed pushes: attempts in all, first wait (doubling, up to 5 minutes). */
  Retry retry();

  record Retry(int maxAttempts, Duration backoff, Duration throttlePause) {
    static final Retry DEFAULT = new Retry(5, Duration.ofSeconds(2), null);
  }

  record Request(String url, Map<String, String> headers, Buffer body) {
  }

  enum Verdict {
    DELIVERED,
    /** The platform asks us to slow down: wait, then try again. */
    THROTTLED,
    /** A passing fault (5xx, network): try again. */
    RETRY,
    /** The platform refused this message for good (signature, keyword, token). */
    FAILED
  }

  record Answer(Verdict verdict, JsonObject response) {
  }

  /** The answer of a platform that speaks {@code errcode}/{@code errmsg} (DingTalk, WeCom). */
  static Answer errcodeAnswer(int httpStatus, String body, int throttleCode) {
    // -1 is "system busy" on both platforms; a body that is not JSON came from something in between
    JsonObject response = new JsonObject().put("http_status", httpStatus);
    if (httpStatus >= 500) {
      return new Answer(Verdict.RETRY, response.put("body", Texts.clip(body, 500)));
    }
    Integer code = null;
    try {
      JsonObject json = new JsonObject(body);
      Object c = json.getValue("errcode");
      code = c instanceof Number n ? n.intValue() : null;
      response.put("errcode", code).put("errmsg", json.getValue("errmsg"));
    } catch (RuntimeException notJson) {
      response.put("body", Texts.clip(body, 500));
    }
    if (httpStatus == 200 && code != null && code == 0) {
      return new Answer(Verdict.DELIVERED, response);
    }
    if (code != null && code == throttleCode || httpStatus == 429) {
      return new Answer(Verdict.THROTTLED, response);
    }
    if (code == null || code == -1 || httpStatus == 408) {
      return new Answer(Verdict.RETRY, response);
    }
    return new Answer(Verdict.FAILED, response);
  }
}
