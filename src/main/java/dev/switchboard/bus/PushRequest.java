package dev.switchboard.bus;

/**
 * Push {@code text} to the bot {@code bot} of platform {@code channel} (e.g. dingtalk/default);
 * {@code address}, when set, is the conversation to reply in.
 */
public record PushRequest(String channel, String bot, String text, String taskId, io.vertx.core.json.JsonObject address,
                          io.vertx.core.json.JsonObject message) {

  public PushRequest(String channel, String bot, String text, String taskId, io.vertx.core.json.JsonObject address) {
    this(channel, bot, text, taskId, address, null);
  }
}
