package dev.switchboard.bus;

import io.vertx.core.json.JsonObject;

/**
 * A chat completion request as the client sent it. {@code id}, when set, names the call: a
 * {@code MODEL_CANCEL} with it stops the call and closes its upstream connection, streaming or
 * not, and a streamed call's events go to it as their address. {@code subject} is the
 * authenticated caller, for accounting; {@code tags} narrow the deployments to providers carrying
 * all of them (header {@code x-switchboard-tags}).
 */
public record ChatCall(JsonObject body, String subject, String id, java.util.List<String> tags, boolean stream) {

  /** A call that streams to {@code streamAddress} when it is set, else is answered as one reply. */
  public ChatCall(JsonObject body, String subject, String streamAddress, java.util.List<String> tags) {
    this(body, subject, streamAddress, tags, streamAddress != null);
  }

  public ChatCall(JsonObject body, String subject, String streamAddress) {
    this(body, subject, streamAddress, java.util.List.of());
  }

  /** Where a streamed call's events go; null for a call answered as one reply. */
  public String streamAddress() {
    return stream ? id : null;
  }

  public String model() {
    return body.getString("model", "");
  }
}
