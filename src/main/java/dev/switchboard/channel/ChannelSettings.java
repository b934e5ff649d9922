package dev.switchboard.channel;

import dev.switchboard.config.ConfigFiles;
import dev.switchboard.config.ConfigNode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** {@code conf/channels.yaml}. This build pushes to DingTalk custom robots; other platforms follow. */
public record ChannelSettings(List<DingTalkBot> dingtalk) {

  public static final String FILE = "channels.yaml";

  public static ChannelSettings load(ConfigFiles files) {
    ConfigNode root = files.load(FILE, false);
    root.allowOnly("dingtalk", "feishu", "wecom", "webhooks");
    List<DingTalkBot> bots = new ArrayList<>();
    Set<String> names = new HashSet<>();
    for (ConfigNode node : root.get("dingtalk").list()) {
      DingTalkBot bot = DingTalkBot.from(node);
      if (!names.add(bot.name())) {
        throw node.get("name").error("duplicate bot name '" + bot.name() + "'");
      }
      // enterprise (app) robots are inbound; only custom robots with a webhook push here
      if (node.get("app_key").isMissing()) {
        bots.add(bot);
      }
    }
    return new ChannelSettings(List.copyOf(bots));
  }

  public Optional<DingTalkBot> dingtalk(String name) {
    return dingtalk.stream().filter(b -> b.name().equals(name)).findFirst();
  }

  /** Why a task cannot target this channel, or empty when it can. */
  public Optional<String> unusable(String type, String bot) {
    if (!"dingtalk".equals(type)) {
      return Optional.of("channel type '" + type + "' is not supported (supported: dingtalk)");
    }
    Optional<DingTalkBot> found = dingtalk(bot);
    if (found.isEmpty()) {
      return Optional.of("no dingtalk bot named '" + bot + "' in conf/" + FILE);
    }
    if (!found.get().enabled()) {
      // both come from the environment in the shipped configuration
      return Optional.of("dingtalk bot '" + bot + "' is off: set its webhook (DINGTALK_WEBHOOK) and secret (DINGTALK_SECRET)");
    }
    return Optional.empty();
  }

  public String summary() {
    if (dingtalk.isEmpty()) {
      return "none";
    }
    List<String> parts = new ArrayList<>();
    dingtalk.forEach(b -> parts.add(b.describe()));
    return String.join(", ", parts);
  }
}
