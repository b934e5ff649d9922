package dev.switchboard.bus;

import io.vertx.core.json.JsonObject;

/**
 * A chat completion request as the client sent it. {@code streamAddress} is set for streaming
 * calls; {@code subject} is the authenticated caller, for accounting; {@code tags} narrow the
 * deployments to providers carrying all of them (header {@code x-switchboard-tags}).
 */
public record ChatCall(JsonObject body, String subject, String streamAddress, java.util.List<String> tags) {

  public ChatCall(JsonObject body, String subject, String streamAddress) {
    this(body, subject, streamAddress, java.util.List.of());
  }

  public String model() {
    return body.getString("model", "");
  }
}
