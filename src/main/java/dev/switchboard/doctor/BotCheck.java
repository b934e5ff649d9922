package dev.switchboard.doctor;

import dev.switchboard.channel.Bot;
import dev.switchboard.channel.BotSelfCheck;
import dev.switchboard.channel.ChannelSettings;
import dev.switchboard.channel.TenantTokens;
import dev.switchboard.channel.WeComApp;
import dev.switchboard.config.ConfigNode;
import dev.switchboard.security.OutboundGuard;
import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * Each bot's credentials. App bots ask their platform for an access token, exactly as a reply
 * would ({@link TenantTokens}): the platform says whether key and secret are right. Custom robots
 * have no such endpoint, and a doctor must not post into a group, so they get a self-check
 * ({@link BotSelfCheck}) and the outbound guard's verdict on their host.
 */
final class BotCheck {

  private final ChannelSettings channels;
  private final ConfigNode raw;
  private final OutboundGuard guard;
  private final TenantTokens tokens;
  /** Where every token is asked for: the checks run on threads of their own, and TenantTokens is confined to one loop. */
  private final io.vertx.core.Context context;
  private final long timeoutMs;

  BotCheck(ChannelSettings channels, ConfigNode raw, OutboundGuard guard, TenantTokens tokens, io.vertx.core.Context context,
           long timeoutMs) {
    this.channels = channels;
    this.raw = raw;
    this.guard = guard;
    this.tokens = tokens;
    this.context = context;
    this.timeoutMs = timeoutMs;
  }

  /** One check per bot, to run concurrently. */
  List<Doctor.Check> checks() {
    List<Doctor.Check> out = new ArrayList<>();
    channels.bots().forEach((channel, byName) -> byName.values().forEach(b -> out.add(new Doctor.Check(channel + " bot " + b.name(),
        () -> List.of(robot(channel, b))))));
    channels.dingtalkApps().values().forEach(a -> out.add(new Doctor.Check("dingtalk app " + a.name(), () -> List.of(app("dingtalk",
        a.name(), a.offReason(), () -> tokens.token(a), a.apiBase(), "app_key", "app_secret", "api_base")))));
    channels.feishuApps().values().forEach(a -> out.add(new Doctor.Check("feishu app " + a.name(), () -> List.of(app("feishu",
        a.name(), a.offReason(), () -> tokens.token(a), a.baseUrl(), "app_id", "app_secret", "domain")))));
    channels.wecomApps().values().forEach(a -> out.add(new Doctor.Check("wecom app " + a.name(), () -> List.of(wecom(a)))));
    return out;
  }

  private Finding robot(String channel, Bot bot) {
    String subject = channel + " bot " + bot.name();
    ConfigNode rawEntry = Where.entry(raw, channel.equals("webhook") ? "webhooks" : channel, bot.name());
    String urlKey = channel.equals("webhook") ? "url" : "webhook";
    if (bot.offReason() != null) {
      return off(subject, bot.offReason(), rawEntry, urlKey, "secret");
    }
    BotSelfCheck.Result r = BotSelfCheck.check(bot);
    if (r.url() == null) {
      return Finding.skip(subject, r.detail());
    }
    if (r.problem() != null) {
      String key = r.problem().startsWith("secret") ? "secret" : urlKey;
      return Finding.fail(subject, r.problem(), "set " + Where.of(rawEntry.get(key)));
    }
    String host = OutboundGuard.target(r.url()).host();
    try {
      guard.resolve(host);
    } catch (OutboundGuard.Refused e) {
      return Finding.fail(subject, Where.redacted(r.url()) + ": " + e.getMessage(),
          e.getMessage().startsWith("cannot resolve") ? "check " + Where.of(rawEntry.get(urlKey)) + " and this host's DNS"
              : "allow it as the message says, or set " + Where.of(rawEntry.get(urlKey)));
    }
    return Finding.ok(subject, Where.redacted(r.url()) + " allowed, " + r.detail() + " (nothing sent)");
  }

  private Finding app(String channel, String name, String offReason, Callable<Future<String>> token, String base,
                      String idKey, String secretKey, String baseKey) {
    String subject = channel + " app " + name;
    ConfigNode rawEntry = Where.entry(raw, channel, name);
    if (offReason != null) {
      return off(subject, offReason, rawEntry, idKey, secretKey);
    }
    try {
      Doctor.onContext(context, token, timeoutMs);
      return Finding.ok(subject, base + " issued an access token for these credentials");
    } catch (java.util.concurrent.TimeoutException e) {
      return Finding.fail(subject, base + " did not answer within " + timeoutMs / 1000 + " s",
          "check this host reaches " + base + " (" + Where.of(rawEntry.get(baseKey)) + ")");
    } catch (Exception e) {
      String why = Doctor.message(e);
      if (why.contains("no access token")) {
        return Finding.fail(subject, base + " refused the credentials: " + Doctor.clip(why, 160),
            "set " + Where.of(rawEntry.get(idKey), rawEntry.get(secretKey)) + " to the app's own");
      }
      return Finding.fail(subject, "cannot reach " + base + ": " + why,
          "check this host reaches it (" + Where.of(rawEntry.get(baseKey)) + ")");
    }
  }

  private Finding wecom(WeComApp a) {
    if (a.offReason() == null && a.replyOff() != null) {
      // the callback keys (token, AES key) have no endpoint to ask; without a secret nothing fetches a token
      return Finding.skip("wecom app " + a.name(), "replies off (" + a.replyOff() + "): no token to check");
    }
    return app("wecom", a.name(), a.offReason(), () -> tokens.token(a), a.apiBase(), "corp_id", "secret", "api_base");
  }

  /** Off by choice is not checked; off for want of a setting is a warning with the variable to set. */
  private static Finding off(String subject, String reason, ConfigNode rawEntry, String... keys) {
    if ("disabled".equals(reason)) {
      return Finding.skip(subject, "disabled (enabled: false)");
    }
    // the reason starts with the key it wants ("webhook unset (DINGTALK_WEBHOOK)"): name that one alone when it is written
    String wanted = reason.split(" ", 2)[0];
    java.util.List<String> named = java.util.List.of(wanted);
    try {
      named = rawEntry.get(wanted).isMissing() ? java.util.List.of(keys) : named;
    } catch (dev.switchboard.config.ConfigError notAnEntry) {
      named = java.util.List.of();
    }
    ConfigNode[] nodes = named.stream().map(rawEntry::get).filter(n -> !n.isMissing()).toArray(ConfigNode[]::new);
    return Finding.warn(subject, "off: " + reason, nodes.length == 0 ? "see " + rawEntry.file() : "set " + Where.of(nodes));
  }
}
