package dev.switchboard.bus;

import io.vertx.core.json.JsonObject;
import java.util.List;

/**
 * A chat completion request as the client sent it. {@code id} names the call: sent to
 * {@link Addresses#MODEL_CALL}, its {@link CallEvent}s go to the id, and a {@code MODEL_CANCEL}
 * with it stops the call and closes its upstream connection, streaming or not. {@code subject} is
 * the authenticated caller, for accounting; {@code tags} narrow the deployments to providers
 * carrying all of them (header {@code x-switchboard-tags}); {@code stream} is the body's
 * {@code "stream": true}.
 */
public record ChatCall(JsonObject body, String subject, String id, List<String> tags, boolean stream) {

  /** A call inside the gateway, answered as one reply on {@link Addresses#MODEL_CHAT}. */
  public static ChatCall internal(JsonObject body, String subject) {
    return new ChatCall(body, subject, null, List.of(), false);
  }

  public String model() {
    return body.getString("model", "");
  }
}
