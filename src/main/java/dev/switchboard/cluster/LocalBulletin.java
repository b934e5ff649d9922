package dev.switchboard.cluster;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** The embedded profile's bulletin: one instance, so it only tells itself. */
final class LocalBulletin implements Bulletin {

  private final Map<String, Map<String, JsonObject>> topics = new ConcurrentHashMap<>();

  @Override
  public Future<Boolean> post(String topic, String field, JsonObject value, Lease lease) {
    if (!lease.leader()) {
      return Future.succeededFuture(false);
    }
    topics.computeIfAbsent(topic, t -> new ConcurrentHashMap<>()).put(field, value.copy().put("token", lease.token()));
    return Future.succeededFuture(true);
  }

  @Override
  public Future<Map<String, JsonObject>> read(String topic) {
    Map<String, JsonObject> out = new LinkedHashMap<>();
    topics.getOrDefault(topic, Map.of()).forEach((k, v) -> out.put(k, v.copy()));
    return Future.succeededFuture(out);
  }
}
