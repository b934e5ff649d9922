package dev.switchboard.bus;

import io.vertx.core.json.JsonObject;

/**
 * A chat completion request as the client sent it. {@code streamAddress} is set for streaming
 * calls; {@code subject} is the authenticated caller, for accounting.
 */
public record ChatCall(JsonObject body, String subject, String streamAddress) {

  public String model() {
    return body.getString("model", "");
  }
}
