package dev.switchboard.bus;

import java.util.List;

/**
 * A validated task request from the HTTP edge or a platform. {@code runAt}: epoch ms before which
 * it does not run (0: use {@code delayMillis}); {@code maxAttempts}: runs allowed (0: the queue's
 * default).
 */
public record TaskSubmission(String input, String model, List<Target> channels, Priority priority,
                             String idempotencyKey, String subject, Conversation conversation, long delayMillis,
                             List<String> memoryScopes, long runAt, int maxAttempts, Origin origin, List<String> skills) {

  /**
   * {@code memoryScopes}: long-term memory scopes the agent recalls from and may remember into
   * (first: default); {@code skills}: the skills the agent may call, null for the default.
   */
  public TaskSubmission {
    memoryScopes = memoryScopes == null ? List.of() : List.copyOf(memoryScopes);
    skills = skills == null ? null : List.copyOf(skills);
  }

  public TaskSubmission(String input, String model, List<Target> channels, Priority priority, String idempotencyKey,
                        String subject, Conversation conversation, long delayMillis, List<String> memoryScopes,
                        long runAt, int maxAttempts, Origin origin) {
    this(input, model, channels, priority, idempotencyKey, subject, conversation, delayMillis, memoryScopes, runAt,
        maxAttempts, origin, null);
  }

  public TaskSubmission(String input, String model, List<Target> channels, Priority priority, String idempotencyKey,
                        String subject, Conversation conversation, long delayMillis, List<String> memoryScopes,
                        long runAt, int maxAttempts) {
    this(input, model, channels, priority, idempotencyKey, subject, conversation, delayMillis, memoryScopes, runAt,
        maxAttempts, null);
  }

  /** The rule and the event a task was made for (null: submitted through the API). */
  public record Origin(String rule, String event) {
  }

  public TaskSubmission(String input, String model, List<Target> channels, Priority priority, String idempotencyKey,
                        String subject, Conversation conversation, long delayMillis, List<String> memoryScopes) {
    this(input, model, channels, priority, idempotencyKey, subject, conversation, delayMillis, memoryScopes, 0, 0, null);
  }

  public TaskSubmission(String input, String model, List<Target> channels, Priority priority, String idempotencyKey,
                        String subject, Conversation conversation, long delayMillis) {
    this(input, model, channels, priority, idempotencyKey, subject, conversation, delayMillis, List.of());
  }

  public TaskSubmission(String input, String model, List<Target> channels, Priority priority, String idempotencyKey,
                        String subject) {
    this(input, model, channels, priority, idempotencyKey, subject, null, 0);
  }

  public TaskSubmission(String input, String model, List<Target> channels, Priority priority, String idempotencyKey,
                        String subject, Conversation conversation) {
    this(input, model, channels, priority, idempotencyKey, subject, conversation, 0);
  }

  /** The conversation a task answers in: its key in short-term memory, and how many turns to recall. */
  public record Conversation(String key, int turns) {
  }

  /**
   * Where a result goes: a bot, and for replies in a conversation the address the platform gave
   * (for DingTalk: {@code session_webhook}, {@code expires_at}, {@code at_user_ids}); {@code message},
   * when set, is a platform-native body (DingTalk actionCard, Feishu post, ...) whose strings may
   * hold {@code {result}}.
   */
  public record Target(String type, String bot, io.vertx.core.json.JsonObject address, io.vertx.core.json.JsonObject message) {

    public Target(String type, String bot) {
      this(type, bot, null, null);
    }

    public Target(String type, String bot, io.vertx.core.json.JsonObject address) {
      this(type, bot, address, null);
    }
  }

  /** Lower rank runs first. */
  public enum Priority {
    HIGH, NORMAL, LOW;

    public String label() {
      return name().toLowerCase();
    }
  }
}
