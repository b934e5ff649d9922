package dev.switchboard.channel;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;

/**
 * The inbound side of one bot of a plug-in channel ({@link ChannelProvider#inbound}): requests to
 * {@code GET|POST /webhooks/{platform}/{bot}} are handed to it raw. It verifies them, answers a
 * challenge, and reads a message out of them; the gateway stores that message as a normalised
 * event (allow lists, conversation key, memory scopes as for the built-in platforms) before the
 * platform is answered, and the rules answer it through {@link #replyBot}.
 *
 * <p>A refusal is a failed future (or, when {@link #blocking()}, a thrown exception) holding a
 * {@link dev.switchboard.bus.Failure}, e.g. {@code Failure.unauthorized(...)}: its status is what the
 * platform gets. Any other failure is a 500, so that the platform sends the request again.
 */
public interface Inbound {

  /**
   * Whether {@link #handle} blocks (signatures over large bodies, decryption, a library that does
   * I/O): it then runs on the inbound worker threads, never on an event loop.
   */
  default boolean blocking() {
    return false;
  }

  /** Null when the bot takes requests; else why it is off (answered 503 with it). */
  default String offReason() {
    return null;
  }

  /** Verifies and reads one request; the result's message, if any, becomes the event. */
  Future<Result> handle(Request request);

  /**
   * The bot that answers in the conversation {@code address} names (the {@link Message#address}
   * this bot put into an event, which a rule's {@code agent: {reply: true}} pushes to); null when
   * it cannot answer there. Replies are pushes: rate limits, retries and delivery records as for
   * the channel's other bots.
   */
  default Bot replyBot(JsonObject address) {
    return null;
  }

  /** A request as received: header names in lower case; repeated headers and parameters joined with ", ". */
  record Request(String platform, String bot, String method, Map<String, String> headers, Map<String, String> query,
                 Buffer body) {

    public String header(String name) {
      return headers.get(name.toLowerCase(Locale.ROOT));
    }

    public String param(String name) {
      return query.get(name);
    }

    public String bodyText() {
      return body.toString(StandardCharsets.UTF_8);
    }
  }

  /**
   * What the platform is answered, and the message the request carried (null: nothing to act on,
   * e.g. a challenge or an event kind the plug-in ignores).
   */
  record Result(int status, Map<String, String> headers, Buffer body, Message message) {

    public static Result text(String text) {
      return new Result(200, Map.of("content-type", "text/plain; charset=utf-8"), Buffer.buffer(text), null);
    }

    public static Result json(JsonObject json) {
      return new Result(200, Map.of("content-type", "application/json"), json.toBuffer(), null);
    }

    /** This answer, given once {@code message} is stored. */
    public Result withMessage(Message message) {
      return new Result(status, headers, body, message);
    }
  }

  /**
   * A platform message: {@code id} the platform's own message id (unique per bot: the event id is
   * {@code <platform>:<bot>:<id>}, the dedup key, so a re-delivery is stored once), the conversation
   * and whether it is a group, the sender, the text, whether the bot was addressed (an @-mention;
   * a direct message always is), the platform body for rules ({@code raw}), and the {@code address}
   * {@link #replyBot} answers.
   */
  record Message(String id, String conversation, boolean group, String senderId, String senderName, String text,
                 boolean mentioned, JsonObject raw, JsonObject address) {

    public Message {
      java.util.Objects.requireNonNull(id, "a message needs the platform's id of it: the dedup key");
    }
  }
}
