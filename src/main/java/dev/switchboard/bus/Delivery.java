package dev.switchboard.bus;

import io.vertx.core.json.JsonObject;

/** The outcome of one push: {@code delivered} or {@code failed}, with the platform's answer. */
public record Delivery(String channel, String bot, String status, int attempts, JsonObject response) {

  public static final String DELIVERED = "delivered";
  public static final String FAILED = "failed";

  public boolean delivered() {
    return DELIVERED.equals(status);
  }
}
