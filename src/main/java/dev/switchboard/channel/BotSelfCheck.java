package dev.switchboard.channel;

import java.net.URI;
import java.util.Base64;
import java.util.Map;

/**
 * What {@code doctor} can prove about a custom robot without sending it anything: the webhook URL
 * has the shape its platform gives out, the secret has the shape the platform issues, and a request
 * built the way a push builds it carries a well-formed signature. A custom robot has no endpoint
 * that checks credentials, so a message would be the only real proof, and a doctor must not post
 * into a group.
 */
public final class BotSelfCheck {

  /** What the check found: {@code problem} null when the robot looks right; {@code url} is the one a push calls. */
  public record Result(String url, String problem, String detail) {
  }

  private BotSelfCheck() {
  }

  public static Result check(Bot bot) {
    Bot.Request request = bot.request("switchboard doctor", "doctor", System.currentTimeMillis());
    if (bot instanceof DingTalkBot d) {
      return dingtalk(d, request);
    }
    if (bot instanceof FeishuBot f) {
      return feishu(f, request);
    }
    if (bot instanceof WeComBot w) {
      return new Result(w.webhook(), queryHas(w.webhook(), "key")
          ? null : "webhook has no key= (copy the whole URL WeCom shows for the robot)", "key in the URL");
    }
    if (bot instanceof WebhookBot h) {
      return webhook(h, request);
    }
    return new Result(null, null, "a plug-in channel: not checked");
  }

  private static Result dingtalk(DingTalkBot bot, Bot.Request request) {
    if (!queryHas(bot.webhook(), "access_token")) {
      return new Result(bot.webhook(), "webhook has no access_token= (copy the whole URL DingTalk shows for the robot)", null);
    }
    if (!bot.secret().startsWith("SEC")) {
      return new Result(bot.webhook(), "secret does not look like a 加签 secret (DingTalk shows one starting with SEC)", null);
    }
    String sign = query(request.url()).get("sign");
    return new Result(bot.webhook(), digest(sign == null ? "" : java.net.URLDecoder.decode(sign, java.nio.charset.StandardCharsets.UTF_8))
        ? null : "the signed URL carries no usable sign", "signed (加签 HmacSHA256)");
  }

  private static Result feishu(FeishuBot bot, Bot.Request request) {
    if (!URI.create(bot.webhook()).getPath().contains("/bot/v2/hook/")) {
      return new Result(bot.webhook(), "webhook is not a custom bot hook URL (…/open-apis/bot/v2/hook/…)", null);
    }
    if (bot.secret().isEmpty()) {
      return new Result(bot.webhook(), null, "unsigned (no secret)");
    }
    String sign = request.body().toJsonObject().getString("sign", "");
    return new Result(bot.webhook(), digest(sign) ? null : "the signed body carries no usable sign", "signed (签名校验)");
  }

  private static Result webhook(WebhookBot bot, Bot.Request request) {
    if (bot.secret().length() < 16) {
      return new Result(bot.url(), "secret is shorter than 16 characters: anyone who guesses it can sign as the gateway", null);
    }
    String signature = request.headers().getOrDefault("x-switchboard-signature", "");
    return new Result(bot.url(), signature.matches("sha256=[0-9a-f]{64}") ? null : "the request carries no usable signature",
        "signed (x-switchboard-signature)");
  }

  /** A Base64 HMAC-SHA256: 32 bytes. */
  private static boolean digest(String base64) {
    try {
      return Base64.getDecoder().decode(base64).length == 32;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private static boolean queryHas(String url, String name) {
    String value = query(url).get(name);
    return value != null && !value.isBlank();
  }

  private static Map<String, String> query(String url) {
    String q = URI.create(url).getRawQuery();
    Map<String, String> out = new java.util.HashMap<>();
    if (q != null) {
      for (String pair : q.split("&")) {
        int eq = pair.indexOf('=');
        out.put(eq < 0 ? pair : pair.substring(0, eq), eq < 0 ? "" : pair.substring(eq + 1));
      }
    }
    return out;
  }
}
