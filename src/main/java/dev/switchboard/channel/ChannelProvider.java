package dev.switchboard.channel;

import dev.switchboard.config.ConfigNode;

/**
 * A kind of channel bots can push to. Providers are found with {@link java.util.ServiceLoader}
 * (listed in {@code META-INF/services/dev.switchboard.channel.ChannelProvider}), so a platform such
 * as Slack or Telegram can come from a jar on the class path; the built-in channels are provided the
 * same way. A provider reads the entries of its section of {@code channels.yaml} into {@link Bot}s;
 * the push component does the rest (rate limits, retries, delivery records, metrics). A provider may
 * add the inbound side of its entries too ({@link #inbound}).
 */
public interface ChannelProvider {

  /** The channel type tasks and deliveries name, e.g. {@code slack}. */
  String channel();

  /** The top-level section of {@code channels.yaml} it reads, e.g. {@code slack}. */
  String section();

  /**
   * The push bot of one entry, or null when the entry is something else in that section (an app
   * bot, an inbound hook). {@code raw} is the same entry before variable substitution, for telling
   * an operator which variable to set ({@link BotConfig#unset}).
   */
  Bot pushBot(ConfigNode entry, ConfigNode raw);

  /**
   * The inbound side of one entry ({@code GET|POST /webhooks/{channel}/{name}}), or null (the
   * default) when the entry only pushes. Entries with an inbound side may also carry
   * {@code allow}, {@code reply_in_groups} and {@code history}, read as for the built-in app bots.
   */
  default Inbound inbound(ConfigNode entry, ConfigNode raw) {
    return null;
  }
}
