package dev.switchboard.channel;

import dev.switchboard.config.ConfigNode;

/**
 * A DingTalk enterprise (app) robot: people message it, and it answers in the same conversation.
 * In callback mode DingTalk POSTs to {@code /webhooks/dingtalk/{name}}, signed with the app secret.
 * Replies go to the message's {@code sessionWebhook} only when it is on one of
 * {@code session_webhook_hosts} (DingTalk's own by default).
 */
public record DingTalkApp(String name, String appKey, String appSecret, String robotCode, String mode, String template,
                          String offReason, Bot.RateLimit rateLimit, Bot.Retry retry, String apiBase,
                          WebhookHosts sessionWebhookHosts, String note)
    implements ReplyBot.App {

  public DingTalkApp(String name, String appKey, String appSecret, String robotCode, String mode, String template,
                     String offReason, Bot.RateLimit rateLimit, Bot.Retry retry) {
    this(name, appKey, appSecret, robotCode, mode, template, offReason, rateLimit, retry, "https://api.dingtalk.com",
        WebhookHosts.of(WebhookHosts.DEFAULT), null);
  }

  static DingTalkApp from(ConfigNode node, ConfigNode raw) {
    node.allowOnly("name", "app_key", "app_secret", "robot_code", "mode", "api_base", "template", "rate_limit", "retry",
        "enabled", "allow", "reply_in_groups", "history", "session_webhook_hosts", "skills");
    String mode = node.get("mode").string("callback");
    if (!mode.equals("callback") && !mode.equals("stream")) {
      throw node.get("mode").error("expected callback or stream, got '" + mode + "'");
    }
    String secret = node.get("app_secret").stringIfSet("");
    String appKey = node.get("app_key").stringIfSet("");
    String robotCode = node.get("robot_code").stringIfSet("");
    // the app key is needed in either mode: it gets the access token that replies after the
    // sessionWebhook has expired use, and it is the robot code when that is unset
    String off = !node.get("enabled").bool(true) ? "disabled"
        : secret.isEmpty() ? BotConfig.unset("app_secret", raw)
        : appKey.isEmpty() ? BotConfig.unset("app_key", raw) : null;
    // DingTalk gives an internal app's robot the app's AppKey as its robot code, so an unset one
    // weakens nothing; the start-up line still says which value is used
    String note = robotCode.isEmpty() ? BotConfig.unset("robot_code", raw) + ": app_key used" : null;
    String apiBase = node.get("api_base").string("https://api.dingtalk.com");
    if (!node.get("api_base").isMissing()) {
      apiBase = BotConfig.url(node.get("api_base"));
    }
    while (apiBase.endsWith("/")) {
      apiBase = apiBase.substring(0, apiBase.length() - 1);
    }
    return new DingTalkApp(node.get("name").requiredString(), appKey, secret,
        robotCode, mode, node.get("template").string("{result}"), off,
        BotConfig.rateLimit(node.get("rate_limit"), DingTalkBot.LIMIT.messages(), DingTalkBot.LIMIT.per()),
        BotConfig.retry(node.get("retry")), apiBase, WebhookHosts.from(node.get("session_webhook_hosts")), note);
  }

  /** Null when a reply may be posted to this sessionWebhook; else why not. */
  String sessionWebhookRefusal(String url) {
    return sessionWebhookHosts.refusal(url);
  }

  /** The callback's {@code sign} header for {@code timestamp}: DingTalk 加签 with the app secret, not URL-encoded. */
  String expectedSign(long timestampMillis) {
    return DingTalkSigner.sign(timestampMillis, appSecret);
  }
}
