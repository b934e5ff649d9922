package dev.switchboard.rules;

import dev.switchboard.channel.ChannelSettings;
import dev.switchboard.config.ConfigFiles;
import java.util.Optional;

/**
 * The rules file as start-up found it: checked with the rest of the configuration, so a gateway
 * never starts on a rules file it cannot read (later, a bad edit keeps the running set instead).
 */
public final class RulesSettings {

  private final RulesFile file;
  private final RuleSet initial;
  /** The file's stamp taken before it was read: a later one means {@link #initial} may be older than the file. */
  private final RulesFile.Stamp read;

  RulesSettings(RulesFile file, RuleSet initial) {
    this(file, initial, RulesFile.Stamp.UNREAD);
  }

  RulesSettings(RulesFile file, RuleSet initial, RulesFile.Stamp read) {
    this.file = file;
    this.initial = initial;
    this.read = read;
  }

  public static RulesSettings load(ConfigFiles files, ChannelSettings channels) {
    RulesFile file = new RulesFile(files, pushable(channels));
    RulesFile.Stamp read = file.stamp();
    return new RulesSettings(file, file.load(), read);
  }

  /**
   * Rules push to bots that can push (custom robots, webhooks with a url, plug-in channels); app
   * bots only answer in their conversations, which {@code agent: {reply: true}} does. A bot that
   * is configured but off (its secrets unset) is accepted: the push then fails, and says why.
   */
  static Action.Channels pushable(ChannelSettings channels) {
    return (type, bot) -> {
      var byName = channels.bots().get(type);
      if (byName == null) {
        return Optional.of("unknown channel type '" + type + "' (known: " + String.join(", ", channels.bots().keySet()) + ")");
      }
      if (!byName.containsKey(bot)) {
        return Optional.of("no " + type + " bot named '" + bot + "' that can push in conf/channels.yaml"
            + ("webhook".equals(type) ? " (a webhooks entry with a url)" : ""));
      }
      return Optional.empty();
    };
  }

  RulesFile file() {
    return file;
  }

  RuleSet initial() {
    return initial;
  }

  RulesFile.Stamp read() {
    return read;
  }

  /** How many rules start-up loaded, for the banner. */
  public int size() {
    return initial.rules().size();
  }
}
