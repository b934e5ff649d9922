package dev.switchboard.channel;

import dev.switchboard.config.ConfigFiles;
import dev.switchboard.config.ConfigNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code conf/channels.yaml}: the bots that can push, by channel and name. App bots (DingTalk
 * enterprise robots, Feishu apps, WeCom apps) and inbound-only webhooks are read for their own
 * keys but do not push here. {@code store:} says how the component keeps its state ({@link StoreSettings}).
 */
public record ChannelSettings(Map<String, Map<String, Bot>> bots, Map<String, String> inboundHooks,
                              Map<String, String> inboundHooksOff, Map<String, DingTalkApp> dingtalkApps, Map<String, FeishuApp> feishuApps,
                              Map<String, WeComApp> wecomApps, Map<String, InboundPolicy> policies,
                              StoreSettings store, Map<String, AlertReceiver> alertReceivers,
                              Map<String, Map<String, Inbound>> pluginInbound) {

  public static final String FILE = "channels.yaml";
  /** The sections of {@code channels.yaml} that are no channel's: no plug-in channel may read them. */
  public static final List<String> OWN_SECTIONS = List.of("store", "alertmanager");
  /**
   * The names under {@code /webhooks/} that the ingress routes itself (inbound hooks, Alertmanager)
   * before any channel's {@code /webhooks/{channel}/{bot}}: no plug-in channel may be called so.
   */
  public static final List<String> OWN_WEBHOOK_PATHS = List.of("hooks", "alertmanager");
  public static ChannelSettings load(ConfigFiles files) {
    return load(files, List.of(), Map.of());
  }

  /**
   * {@code pluginChannels}: the channels of the enabled plug-ins, read like those of the class path;
   * {@code offSections}: the sections of disabled plug-ins, with why: accepted, not read, and said so.
   */
  public static ChannelSettings load(ConfigFiles files, List<ChannelProvider> pluginChannels, Map<String, String> offSections) {
    ConfigNode root = files.load(FILE, false);
    ConfigNode raw = files.loadRaw(FILE);
    List<ChannelProvider> providers = new ArrayList<>(BuiltInChannels.providers());
    providers.addAll(pluginChannels);
    root.allowOnly(java.util.stream.Stream.of(providers.stream().map(ChannelProvider::section).distinct(),
        offSections.keySet().stream(), OWN_SECTIONS.stream()).flatMap(s -> s).toArray(String[]::new));
    offSections.forEach((section, why) -> {
      if (!root.get(section).isMissing()) {
        java.util.logging.Logger.getLogger(ChannelSettings.class.getName())
            .warning(root.get(section).path() + " in " + FILE + " is not read: " + why);
      }
    });
    Map<String, Map<String, Bot>> bots = new LinkedHashMap<>();
    Map<String, InboundPolicy> policies = new LinkedHashMap<>();
    // the inbound sides of plug-in channels, by channel and bot: GET|POST /webhooks/{channel}/{bot}
    Map<String, Map<String, Inbound>> plugins = new LinkedHashMap<>();
    for (ChannelProvider provider : providers) {
      read(root, raw, provider, bots, plugins, policies);
    }
    // webhooks without a url are inbound: POST /webhooks/hooks/{name}, signed with their secret
    Map<String, String> inbound = new LinkedHashMap<>();
    // why a hook is off, by name, as the start-up line and its 503 say it
    Map<String, String> inboundOff = new LinkedHashMap<>();
    List<ConfigNode> hooks = root.get("webhooks").list();
    List<ConfigNode> rawHooks = raw.get("webhooks").list();
    for (int i = 0; i < hooks.size(); i++) {
      ConfigNode node = hooks.get(i);
      if (node.get("url").isMissing()) {
        node.allowOnly("name", "secret", "enabled");
        boolean on = node.get("enabled").bool(true);
        String name = node.get("name").requiredString();
        String secret = on ? node.get("secret").stringIfSet("") : "";
        inbound.put(name, secret);
        if (secret.isEmpty()) {
          inboundOff.put(name, !on ? "disabled"
              : BotConfig.unset("secret", i < rawHooks.size() ? rawHooks.get(i) : ConfigNode.empty(FILE)));
        }
      }
    }
    Map<String, DingTalkApp> apps = new LinkedHashMap<>();
    List<ConfigNode> rawDingTalk = raw.get("dingtalk").list();
    List<ConfigNode> dingtalk = root.get("dingtalk").list();
    for (int i = 0; i < dingtalk.size(); i++) {
      if (!dingtalk.get(i).get("app_key").isMissing()) {
        DingTalkApp app = DingTalkApp.from(dingtalk.get(i), i < rawDingTalk.size() ? rawDingTalk.get(i) : ConfigNode.empty(FILE));
        apps.put(app.name(), app);
        policies.put("dingtalk/" + app.name(), InboundPolicy.from(dingtalk.get(i)));
      }
    }
    Map<String, FeishuApp> feishuApps = new LinkedHashMap<>();
    List<ConfigNode> rawFeishu = raw.get("feishu").list();
    List<ConfigNode> feishu = root.get("feishu").list();
    for (int i = 0; i < feishu.size(); i++) {
      if (!feishu.get(i).get("app_id").isMissing()) {
        FeishuApp app = FeishuApp.from(feishu.get(i), i < rawFeishu.size() ? rawFeishu.get(i) : ConfigNode.empty(FILE));
        feishuApps.put(app.name(), app);
        policies.put("feishu/" + app.name(), InboundPolicy.from(feishu.get(i)));
      }
    }
    Map<String, WeComApp> wecomApps = new LinkedHashMap<>();
    List<ConfigNode> rawWeCom = raw.get("wecom").list();
    List<ConfigNode> wecom = root.get("wecom").list();
    for (int i = 0; i < wecom.size(); i++) {
      if (!wecom.get(i).get("corp_id").isMissing()) {
        WeComApp app = WeComApp.from(wecom.get(i), i < rawWeCom.size() ? rawWeCom.get(i) : ConfigNode.empty(FILE));
        wecomApps.put(app.name(), app);
        List<String> skills = InboundPolicy.skills(wecom.get(i));
        if (skills != null) {
          policies.put("wecom/" + app.name(), InboundPolicy.OPEN.withSkills(skills));
        }
      }
    }
    // POST /webhooks/alertmanager/{name}: Alertmanager's webhook receivers
    Map<String, AlertReceiver> alerts = new LinkedHashMap<>();
    List<ConfigNode> alertNodes = root.get("alertmanager").list();
    List<ConfigNode> rawAlerts = raw.get("alertmanager").list();
    for (int i = 0; i < alertNodes.size(); i++) {
      AlertReceiver receiver = AlertReceiver.from(alertNodes.get(i), i < rawAlerts.size() ? rawAlerts.get(i) : ConfigNode.empty(FILE));
      if (alerts.put(receiver.name(), receiver) != null) {
        throw alertNodes.get(i).get("name").error("duplicate alertmanager receiver name '" + receiver.name() + "'");
      }
    }
    return new ChannelSettings(bots, Map.copyOf(inbound), Map.copyOf(inboundOff), Map.copyOf(apps), Map.copyOf(feishuApps), Map.copyOf(wecomApps),
        Map.copyOf(policies), StoreSettings.from(root.get("store")), Map.copyOf(alerts), Map.copyOf(plugins));
  }

  private static void read(ConfigNode root, ConfigNode rawRoot, ChannelProvider provider, Map<String, Map<String, Bot>> out,
                           Map<String, Map<String, Inbound>> plugins, Map<String, InboundPolicy> policies) {
    Map<String, Bot> byName = out.computeIfAbsent(provider.channel(), k -> new LinkedHashMap<>());
    java.util.Set<String> seen = new java.util.HashSet<>();
    List<ConfigNode> nodes = root.get(provider.section()).list();
    List<ConfigNode> raws = rawRoot.get(provider.section()).list();
    for (int i = 0; i < nodes.size(); i++) {
      ConfigNode node = nodes.get(i);
      String name = node.get("name").requiredString();
      if (!seen.add(name)) {
        throw node.get("name").error("duplicate bot name '" + name + "'");
      }
      ConfigNode rawNode = i < raws.size() ? raws.get(i) : ConfigNode.empty(FILE);
      Bot bot = provider.pushBot(node, rawNode);
      if (bot != null) {
        byName.put(name, bot);
      }
      Inbound inbound = provider.inbound(node, rawNode);
      if (inbound != null) {
        plugins.computeIfAbsent(provider.channel(), k -> new LinkedHashMap<>()).put(name, inbound);
        policies.put(provider.channel() + "/" + name, InboundPolicy.from(node));
      }
    }
  }

  public Optional<Bot> bot(String channel, String name) {
    return Optional.ofNullable(bots.getOrDefault(channel, Map.of()).get(name));
  }

  public InboundPolicy policy(String channel, String bot) {
    return policies.getOrDefault(channel + "/" + bot, InboundPolicy.OPEN);
  }

  public Optional<DingTalkBot> dingtalk(String name) {
    return bot("dingtalk", name).map(DingTalkBot.class::cast);
  }

  /** The bot that carries a push: a configured one, or a reply in the conversation {@code address} names. */
  public Optional<Bot> target(String channel, String name, io.vertx.core.json.JsonObject address) {
    return target(channel, name, address, null);
  }

  /** {@code tokens}: where app bots get their access tokens (null when only checking). */
  Optional<Bot> target(String channel, String name, io.vertx.core.json.JsonObject address, TenantTokens tokens) {
    if (address != null && "dingtalk".equals(channel) && dingtalkApps.containsKey(name)
        && address.getValue("session_webhook") instanceof String) {
      return Optional.of(DingTalkSessionBot.of(dingtalkApps.get(name), address, tokens));
    }
    if (address != null && "feishu".equals(channel) && feishuApps.containsKey(name)
        && address.getValue("message_id") instanceof String id) {
      return Optional.of(new FeishuReplyBot(feishuApps.get(name), id, tokens));
    }
    if (address != null && "wecom".equals(channel) && wecomApps.containsKey(name)) {
      return Optional.ofNullable(WeComReplyBot.of(wecomApps.get(name), address, tokens));
    }
    Inbound plugin = address == null ? null : pluginInbound.getOrDefault(channel, Map.of()).get(name);
    if (plugin != null) {
      return Optional.ofNullable(plugin.replyBot(address));
    }
    return address == null ? bot(channel, name) : Optional.empty();
  }

  /** Why a push cannot go to this target, or empty when it can. */
  public Optional<String> unusable(String type, String bot, io.vertx.core.json.JsonObject address) {
    if (address == null && ("dingtalk".equals(type) && dingtalkApps.containsKey(bot) || "feishu".equals(type) && feishuApps.containsKey(bot)
        || "wecom".equals(type) && wecomApps.containsKey(bot))) {
      return Optional.of(type + " app bot '" + bot + "' replies in conversations only; push to a custom bot instead");
    }
    Optional<Bot> found = target(type, bot, address);
    if (address != null) {
      if (found.isPresent() && found.get() instanceof DingTalkSessionBot reply && reply.app().offReason() == null
          && reply.refusal() != null) {
        return Optional.of(type + " bot '" + bot + "' cannot reply there: " + reply.refusal());
      }
      return found.isEmpty() ? Optional.of("no conversation to reply in for " + type + "/" + bot)
          : Optional.ofNullable(found.get().offReason()).map(r -> type + " bot '" + bot + "' is off: " + r);
    }
    return unusable(type, bot);
  }

  /** Why a task cannot target this channel, or empty when it can. */
  public Optional<String> unusable(String type, String bot) {
    if (!bots.containsKey(type)) {
      return Optional.of("channel type '" + type + "' is not supported (supported: " + String.join(", ", bots.keySet()) + ")");
    }
    Optional<Bot> found = bot(type, bot);
    if (found.isEmpty()) {
      return Optional.of("no " + type + " bot named '" + bot + "' that can push in conf/" + FILE);
    }
    if (found.get().offReason() != null) {
      return Optional.of(type + " bot '" + bot + "' is off: " + found.get().offReason());
    }
    return Optional.empty();
  }

  /** The skills each replying bot names ({@code channel/bot}), for the check at start-up; bots that name none are left out. */
  public Map<String, List<String>> botSkills() {
    Map<String, List<String>> out = new java.util.TreeMap<>();
    policies.forEach((bot, policy) -> {
      if (policy.skills() != null) {
        out.put(bot, policy.skills());
      }
    });
    return out;
  }

  public String summary() {
    List<String> parts = new ArrayList<>();
    bots.forEach((channel, byName) -> byName.values().forEach(b ->
        parts.add(channel + "/" + b.name() + (b.offReason() != null ? " (off: " + b.offReason() + ")"
            : b.note() != null ? " (" + b.note() + ")" : ""))));
    inboundHooks.forEach((name, secret) -> parts.add("hooks/" + name + " (inbound"
        + (secret.isEmpty() ? ", off: " + inboundHooksOff.getOrDefault(name, "secret unset") + ")" : ")")));
    dingtalkApps.values().forEach(a -> parts.add("dingtalk/" + a.name() + " (" + a.mode()
        + (a.offReason() != null ? ", off: " + a.offReason() + ")" : a.note() != null ? ", " + a.note() + ")" : ")")));
    feishuApps.values().forEach(a -> parts.add("feishu/" + a.name() + (a.longConnection() ? " (long connection" : " (events")
        + (a.offReason() == null ? ")" : ", off: " + a.offReason() + ")")));
    wecomApps.values().forEach(a -> parts.add("wecom/" + a.name() + " (callback"
        + (a.offReason() != null ? ", off: " + a.offReason() + ")" : a.replyOff() != null ? ", replies off: " + a.replyOff() + ")"
        : ", replies)")));
    pluginInbound.forEach((channel, byName) -> byName.forEach((name, in) -> parts.add(channel + "/" + name + " (inbound"
        + (in.offReason() == null ? ")" : ", off: " + in.offReason() + ")"))));
    alertReceivers.values().forEach(a -> parts.add("alertmanager/" + a.name()
        + (a.offReason() == null ? "" : " (off: " + a.offReason() + ")")));
    return parts.isEmpty() ? "none" : String.join(", ", parts);
  }
}
