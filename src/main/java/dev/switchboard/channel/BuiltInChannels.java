package dev.switchboard.channel;

import dev.switchboard.config.ConfigNode;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/** The channels that ship with the gateway, provided through the same SPI as plug-ins. */
public final class BuiltInChannels {

  private BuiltInChannels() {
  }

  private static final List<ChannelProvider> ALL = load();

  private static List<ChannelProvider> load() {
    List<ChannelProvider> all = new ArrayList<>();
    ServiceLoader.load(ChannelProvider.class).forEach(all::add);
    return List.copyOf(all);
  }

  /** Every provider on the class path, built-in ones included. */
  public static List<ChannelProvider> providers() {
    return ALL;
  }

  /** DingTalk custom robots; entries with {@code app_key} are app robots and are read elsewhere. */
  public static final class DingTalk implements ChannelProvider {
    @Override
    public String channel() {
      return "dingtalk";
    }

    @Override
    public String section() {
      return "dingtalk";
    }

    @Override
    public Bot pushBot(ConfigNode entry, ConfigNode raw) {
      return entry.get("app_key").isMissing() ? DingTalkBot.from(entry, raw) : null;
    }
  }

  /** Feishu/Lark custom bots; entries with {@code app_id} are app bots. */
  public static final class Feishu implements ChannelProvider {
    @Override
    public String channel() {
      return "feishu";
    }

    @Override
    public String section() {
      return "feishu";
    }

    @Override
    public Bot pushBot(ConfigNode entry, ConfigNode raw) {
      return entry.get("app_id").isMissing() ? FeishuBot.from(entry, raw) : null;
    }
  }

  /** WeCom group robots; entries with {@code corp_id} are app callbacks. */
  public static final class WeCom implements ChannelProvider {
    @Override
    public String channel() {
      return "wecom";
    }

    @Override
    public String section() {
      return "wecom";
    }

    @Override
    public Bot pushBot(ConfigNode entry, ConfigNode raw) {
      return entry.get("corp_id").isMissing() ? WeComBot.from(entry, raw) : null;
    }
  }

  /** Generic outbound webhooks; entries without {@code url} are inbound hooks. */
  public static final class Webhook implements ChannelProvider {
    @Override
    public String channel() {
      return "webhook";
    }

    @Override
    public String section() {
      return "webhooks";
    }

    @Override
    public Bot pushBot(ConfigNode entry, ConfigNode raw) {
      return entry.get("url").isMissing() ? null : WebhookBot.from(entry, raw);
    }
  }
}
