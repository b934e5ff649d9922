package dev.switchboard.agent;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.Failure;
import dev.switchboard.bus.PushRequest;
import dev.switchboard.bus.TaskSubmission;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Pushes a text to one configured bot through the channel component, which applies the bot's rate
 * limit and retries. The bot is checked first so an unknown one is an error result the model can
 * act on, not a dead delivery record.
 */
final class PushMessageSkill implements Skill {

  @Override
  public String name() {
    return "push_message";
  }

  @Override
  public String description() {
    return "Send a text message to a configured bot (channel: dingtalk, feishu, wecom or webhook; bot: its name).";
  }

  @Override
  public JsonObject parameters() {
    return new JsonObject().put("type", "object").put("properties", new JsonObject()
            .put("channel", new JsonObject().put("type", "string").put("description", "the platform, e.g. dingtalk"))
            .put("bot", new JsonObject().put("type", "string").put("description", "the bot's name in channels.yaml"))
            .put("text", new JsonObject().put("type", "string").put("description", "the message")))
        .put("required", new JsonArray().add("channel").add("bot").add("text"));
  }

  @Override
  public Future<String> run(SkillCall call) {
    String channel = text(call.arguments(), "channel");
    String bot = text(call.arguments(), "bot");
    String message = text(call.arguments(), "text");
    if (channel == null || bot == null || message == null) {
      return Future.failedFuture("channel, bot and text are all required");
    }
    var bus = call.vertx().eventBus();
    // the same text to the same bot within one run is one delivery (a retried task does not push it twice)
    String key = call.ref() + ":push:" + digest(channel + '\n' + bot + '\n' + message);
    return bus.request(Addresses.CHANNEL_CHECK, new TaskSubmission.Target(channel, bot))
        .recover(e -> Future.failedFuture(Failure.from(e).getMessage()))
        .compose(ok -> bus.<JsonObject>request(Addresses.CHANNEL_PUSH, new PushRequest(channel, bot, message, key, null)))
        .map(m -> "queued for " + channel + "/" + bot + " (delivery " + m.body().getString("id") + ", "
            + m.body().getString("status") + ")");
  }

  private static String text(JsonObject args, String name) {
    return args.getValue(name) instanceof String s && !s.isBlank() ? s : null;
  }

  private static String digest(String s) {
    try {
      byte[] hash = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(hash, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
