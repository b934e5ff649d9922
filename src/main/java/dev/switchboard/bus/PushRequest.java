package dev.switchboard.bus;

/** Push {@code text} to the bot {@code bot} of platform {@code channel} (e.g. dingtalk/default). */
public record PushRequest(String channel, String bot, String text, String taskId) {
}
