package dev.switchboard.channel;

import dev.switchboard.config.ConfigNode;
import java.util.List;

/**
 * Who an app bot answers: {@code allow.users} and {@code allow.conversations} (empty: everyone),
 * and in group chats only when mentioned ({@code reply_in_groups: mention}, the default) or always.
 */
public record InboundPolicy(List<String> users, List<String> conversations, boolean groupsNeedMention) {

  static final InboundPolicy OPEN = new InboundPolicy(List.of(), List.of(), true);

  static InboundPolicy from(ConfigNode node) {
    ConfigNode allow = node.get("allow");
    allow.allowOnly("users", "conversations");
    String groups = node.get("reply_in_groups").string("mention");
    if (!groups.equals("mention") && !groups.equals("always")) {
      throw node.get("reply_in_groups").error("expected mention or always, got '" + groups + "'");
    }
    return new InboundPolicy(allow.get("users").strings(), allow.get("conversations").strings(), groups.equals("mention"));
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
