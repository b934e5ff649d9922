package dev.switchboard.plugin;

import dev.switchboard.bus.Failure;
import dev.switchboard.channel.Bot;
import dev.switchboard.channel.BotConfig;
import dev.switchboard.channel.ChannelProvider;
import dev.switchboard.channel.Inbound;
import dev.switchboard.config.ConfigNode;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * A platform from outside the gateway's own code with both sides, found through the SPI as a jar
 * would be: section {@code acme}, entries {@code {name, url, secret}} (and the inbound policy keys).
 * Acme signs each callback with {@code x-acme-signature: sha256=<hex HMAC-SHA256(secret, body)>}
 * (a URL check: over its {@code challenge} parameter, which it wants back as text), sends messages
 * as {@code {message_id, chat: {id, type}, from: {id, name}, text, at_bot}}, and takes replies as a
 * POST of {@code {chat, reply_to, text}} to the entry's url.
 */
public final class AcmeChannelProvider implements ChannelProvider {

  @Override
  public String channel() {
    return "acme";
  }

  @Override
  public String section() {
    return "acme";
  }

  @Override
  public Bot pushBot(ConfigNode entry, ConfigNode raw) {
    entry.allowOnly("name", "url", "secret", "allow", "reply_in_groups", "history", "skills");
    String url = BotConfig.url(entry.get("url"));
    return new AcmeBot(entry.get("name").requiredString(), url, url.isEmpty() ? BotConfig.unset("url", raw) : null, null);
  }

  @Override
  public Inbound inbound(ConfigNode entry, ConfigNode raw) {
    String secret = entry.get("secret").stringIfSet("");
    AcmeBot push = (AcmeBot) pushBot(entry, raw);
    return new Inbound() {
      @Override
      public boolean blocking() {
        return true;
      }

      @Override
      public String offReason() {
        return secret.isEmpty() ? BotConfig.unset("secret", raw) : null;
      }

      @Override
      public Future<Result> handle(Request request) {
        String given = request.header("x-acme-signature");
        if ("GET".equals(request.method())) {
          String challenge = request.param("challenge");
          if (challenge == null || !signed(secret, challenge.getBytes(StandardCharsets.UTF_8), given)) {
            throw Failure.unauthorized("x-acme-signature does not match the challenge");
          }
          return Future.succeededFuture(new Result(200, Map.of("content-type", "text/plain"), Buffer.buffer(challenge), null));
        }
        if (!signed(secret, request.body().getBytes(), given)) {
          throw Failure.unauthorized("x-acme-signature does not match the body");
        }
        JsonObject body = request.body().toJsonObject();
        JsonObject chat = body.getJsonObject("chat");
        JsonObject from = body.getJsonObject("from");
        Message message = new Message(body.getString("message_id"), chat.getString("id"), "group".equals(chat.getString("type")),
            from.getString("id"), from.getString("name"), body.getString("text"), body.getBoolean("at_bot", false), body,
            new JsonObject().put("chat", chat.getString("id")).put("reply_to", body.getString("message_id")));
        // the answer says where it was handled, so that a test can see the worker
        Result ok = new Result(200, Map.of("content-type", "application/json",
            "x-acme-handled-on", Context.isOnWorkerThread() ? "worker" : "event-loop"),
            new JsonObject().put("ok", true).toBuffer(), null);
        return Future.succeededFuture(ok.withMessage(message));
      }

      @Override
      public Bot replyBot(JsonObject address) {
        return address.getValue("chat") instanceof String ? new AcmeBot(push.name, push.url, push.off, address) : null;
      }
    };
  }

  static String signature(String secret, byte[] data) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      return "sha256=" + HexFormat.of().formatHex(mac.doFinal(data));
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static boolean signed(String secret, byte[] data, String given) {
    return given != null && MessageDigest.isEqual(signature(secret, data).getBytes(StandardCharsets.US_ASCII),
        given.trim().getBytes(StandardCharsets.US_ASCII));
  }

  /** A push to the entry's url, or (with an address) a reply in the chat it names. */
  private record AcmeBot(String name, String url, String off, JsonObject address) implements Bot {

    @Override
    public String channel() {
      return "acme";
    }

    @Override
    public String offReason() {
      return off;
    }

    @Override
    public RateLimit rateLimit() {
      return new RateLimit(100, Duration.ofSeconds(1));
    }

    @Override
    public Retry retry() {
      return new Retry(2, Duration.ofMillis(10), null);
    }

    @Override
    public Duration platformThrottlePause() {
      return Duration.ofSeconds(1);
    }

    @Override
    public Request request(String text, String deliveryId, long nowMillis) {
      JsonObject body = address == null ? new JsonObject().put("text", text)
          : new JsonObject().put("chat", address.getString("chat")).put("reply_to", address.getString("reply_to")).put("text", text);
      return new Request(url, Map.of("Content-Type", "application/json"), body.toBuffer());
    }

    @Override
    public Answer read(int httpStatus, String body) {
      return new Answer(httpStatus == 200 ? Verdict.DELIVERED : Verdict.FAILED, new JsonObject().put("http_status", httpStatus));
    }
  }
}
