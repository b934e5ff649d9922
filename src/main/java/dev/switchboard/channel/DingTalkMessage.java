package dev.switchboard.channel;

import dev.switchboard.bus.Failure;
import io.vertx.core.json.JsonObject;

/**
 * A DingTalk robot message as the gateway acts on it, read from the callback or Stream body. The
 * callback's signature covers only its timestamp, so everything in the body is a claim of whoever
 * sent it: ids must be short strings without control characters (they become memory scopes,
 * conversation keys and {@code atUserIds}), the text loses its control characters and is capped,
 * and a field of the wrong type refuses the message instead of being guessed at.
 *
 * @param ignored why the message gets no answer (not text, empty, no msgId or sessionWebhook), or null
 */
record DingTalkMessage(String msgId, String text, String sessionWebhook, Long sessionWebhookExpiredTime,
                       String conversationId, boolean group, String senderStaffId, String senderId, boolean mentioned,
                       String ignored) {

  /** Longest text passed on to the model; DingTalk's own messages are far shorter. */
  static final int MAX_TEXT_CHARS = 8_000;
  /** DingTalk's ids are a few dozen characters. */
  static final int MAX_ID_CHARS = 256;
  static final int MAX_URL_CHARS = 2_048;

  static DingTalkMessage from(JsonObject body) {
    String msgtype = string(body, "msgtype", 64);
    String msgId = id(body, "msgId");
    String conversationId = id(body, "conversationId");
    String staff = id(body, "senderStaffId");
    String sender = id(body, "senderId");
    String type = string(body, "conversationType", 8);
    if (type != null && !type.equals("1") && !type.equals("2")) {
      throw invalid("conversationType must be \"1\" (one to one) or \"2\" (group), got '" + type + "'");
    }
    String session = string(body, "sessionWebhook", MAX_URL_CHARS);
    Object expires = body.getValue("sessionWebhookExpiredTime");
    if (expires != null && !(expires instanceof Number)) {
      throw invalid("sessionWebhookExpiredTime must be epoch milliseconds");
    }
    Object at = body.getValue("isInAtList");
    if (at != null && !(at instanceof Boolean)) {
      throw invalid("isInAtList must be true or false");
    }
    Object textObject = body.getValue("text");
    if (textObject != null && !(textObject instanceof JsonObject)) {
      throw invalid("text must be an object with content");
    }
    Object content = textObject == null ? null : ((JsonObject) textObject).getValue("content");
    if (content != null && !(content instanceof String)) {
      throw invalid("text.content must be a string");
    }
    String text = content == null ? "" : cap(withoutControls((String) content).trim());
    String ignored = !"text".equals(msgtype) ? "not a text message"
        : text.isEmpty() ? "empty text"
        : msgId == null ? "no msgId"
        : session == null ? "no sessionWebhook" : null;
    return new DingTalkMessage(msgId, text, session, expires == null ? null : ((Number) expires).longValue(),
        conversationId, "2".equals(type), staff, sender, !Boolean.FALSE.equals(at), ignored);
  }

  /** An id: absent, or a string of 1 to {@link #MAX_ID_CHARS} characters without control characters. */
  private static String id(JsonObject body, String field) {
    String s = string(body, field, MAX_ID_CHARS);
    if (s != null && (s.isEmpty() || hasControls(s))) {
      throw invalid(field + " must not be empty or hold control characters");
    }
    return s;
  }

  private static String string(JsonObject body, String field, int max) {
    Object v = body.getValue(field);
    if (v == null) {
      return null;
    }
    if (!(v instanceof String s)) {
      throw invalid(field + " must be a string");
    }
    if (s.length() > max) {
      throw invalid(field + " is longer than " + max + " characters");
    }
    return s;
  }

  private static Failure invalid(String why) {
    return Failure.badRequest("invalid_message", "the robot message cannot be used: " + why);
  }

  private static boolean hasControls(String s) {
    for (int i = 0; i < s.length(); i++) {
      if (Character.isISOControl(s.charAt(i))) {
        return true;
      }
    }
    return false;
  }

  /** Line breaks and tabs stay: people write them. */
  static String withoutControls(String s) {
    StringBuilder out = null;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean drop = Character.isISOControl(c) && c != '\n' && c != '\t';
      if (drop && out == null) {
        out = new StringBuilder(s.length()).append(s, 0, i);
      } else if (!drop && out != null) {
        out.append(c);
      }
    }
    return out == null ? s : out.toString();
  }

  private static String cap(String text) {
    if (text.length() <= MAX_TEXT_CHARS) {
      return text;
    }
    int end = MAX_TEXT_CHARS;
    if (Character.isHighSurrogate(text.charAt(end - 1))) {
      end--;
    }
    return text.substring(0, end);
  }
}
