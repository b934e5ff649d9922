package dev.switchboard.cluster;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.util.List;

/** The embedded profile's registry: this instance, the only one, and always the leader. */
final class LocalRegistry implements Registry {

  private volatile JsonObject self;

  @Override
  public Future<Void> beat(JsonObject entry) {
    self = entry.copy();
    return Future.succeededFuture();
  }

  @Override
  public Future<List<JsonObject>> live() {
    JsonObject entry = self;
    return Future.succeededFuture(entry == null ? List.of() : List.of(entry.copy().put("leader", true)));
  }

  @Override
  public Future<Void> leave(String id) {
    self = null;
    return Future.succeededFuture();
  }
}
