package dev.switchboard.bus;

import io.vertx.core.json.JsonObject;

/**
 * A component's readiness: its entries by name, each a JSON object with at least {@code status}
 * ("up", "down", ...) and {@code required}. The gateway is ready when no required entry is down.
 */
public record Health(JsonObject entries) {

  public boolean ready() {
    for (String name : entries.fieldNames()) {
      JsonObject e = entries.getJsonObject(name);
      if (e.getBoolean("required", false) && !"up".equals(e.getString("status"))) {
        return false;
      }
    }
    return true;
  }
}
