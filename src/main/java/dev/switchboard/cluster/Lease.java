package dev.switchboard.cluster;

import io.vertx.core.json.JsonObject;

/**
 * Who leads, as far as this instance knows: {@code leader} is true while this instance holds the
 * lease; {@code token} is the fencing token of the current holder (this instance's own while it
 * leads; 0 when no holder is known), which only ever grows, so work stamped with a token can be
 * refused once a newer one exists; {@code holder} is the holder's instance id, or null.
 */
public record Lease(boolean leader, long token, String holder) {

  public static final Lease NONE = new Lease(false, 0, null);

  public JsonObject toJson() {
    return new JsonObject().put("leader", leader).put("token", token).put("holder", holder);
  }
}
