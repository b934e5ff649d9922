package dev.switchboard.channel;

import dev.switchboard.config.ConfigNode;
import java.util.List;

/**
 * Who an app bot answers: {@code allow.users} and {@code allow.conversations} (empty: everyone),
 * and in group chats only when mentioned ({@code reply_in_groups: mention}, the default) or always;
 * how much of the conversation the agent recalls ({@code history: { turns, per_sender_in_groups }});
 * and the {@code skills} the agent may call when it replies through this bot and the rule's
 * action names none (null: the bot names none either, so the default skills).
 */
public record InboundPolicy(List<String> users, List<String> conversations, boolean groupsNeedMention,
                            int historyTurns, boolean perSenderInGroups, List<String> skills) {

  static final InboundPolicy OPEN = new InboundPolicy(List.of(), List.of(), true, 10, true, null);

  public InboundPolicy {
    skills = skills == null ? null : List.copyOf(skills);
  }

  /** {@code skills: [...]} of a bot's entry; null when it has none. */
  static List<String> skills(ConfigNode node) {
    return node.get("skills").isMissing() ? null : node.get("skills").strings();
  }

  InboundPolicy withSkills(List<String> named) {
    return new InboundPolicy(users, conversations, groupsNeedMention, historyTurns, perSenderInGroups, named);
  }

  static InboundPolicy from(ConfigNode node) {
    ConfigNode allow = node.get("allow");
    allow.allowOnly("users", "conversations");
    String groups = node.get("reply_in_groups").string("mention");
    if (!groups.equals("mention") && !groups.equals("always")) {
      throw node.get("reply_in_groups").error("expected mention or always, got '" + groups + "'");
    }
    ConfigNode history = node.get("history");
    history.allowOnly("turns", "per_sender_in_groups");
    return new InboundPolicy(allow.get("users").strings(), allow.get("conversations").strings(), groups.equals("mention"),
        history.get("turns").integer(10, 0, 200), history.get("per_sender_in_groups").bool(true), skills(node));
  }

  /** The memory key of a conversation: per chat, and in groups per sender unless configured otherwise. */
  String conversationKey(String channel, String bot, String conversation, boolean group, String sender) {
    String key = channel + ":" + bot + ":" + conversation;
    return group && perSenderInGroups && sender != null ? key + ":" + sender : key;
  }

  /** Whether the allow lists let this sender in this conversation raise an event at all. */
  boolean allows(List<String> userIds, String conversation) {
    return permits(userIds, conversation, false, false);
  }

  /**
   * Whether a message is addressed to the bot (an event's {@code mentioned}): a direct message,
   * an @-mention, or any group message when the bot answers groups always.
   */
  boolean addressed(boolean group, boolean mentioned) {
    return !group || mentioned || !groupsNeedMention;
  }

  /** {@code userIds}: every id the platform gives for the sender (staff id, open id, union id, ...). */
  boolean permits(List<String> userIds, String conversation, boolean group, boolean mentioned) {
    if (!users.isEmpty() && userIds.stream().noneMatch(users::contains)) {
      return false;
    }
    if (!conversations.isEmpty() && (conversation == null || !conversations.contains(conversation))) {
      return false;
    }
    return !group || mentioned || !groupsNeedMention;
  }
}
