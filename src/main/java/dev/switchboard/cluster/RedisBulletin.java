package dev.switchboard.cluster;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The bulletin as Redis hashes, {@code <namespace>bulletin:<topic>}; writes fenced by the lease key. */
final class RedisBulletin implements Bulletin {

  // KEYS: lease, topic hash. ARGV: "<id> <token>", field, value.
  private static final String POST = """
      if redis.call('GET', KEYS[1]) ~= ARGV[1] then
        return 0
      end
      redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
      return 1""";

  private final RedisCalls redis;
  private final String prefix;
  private final String leaseKey;

  RedisBulletin(RedisCalls redis, String namespace, String leaseKey) {
    this.redis = redis;
    this.prefix = namespace + "bulletin:";
    this.leaseKey = leaseKey;
  }

  @Override
  public Future<Boolean> post(String topic, String field, JsonObject value, Lease lease) {
    if (!lease.leader()) {
      return Future.succeededFuture(false);
    }
    JsonObject stamped = value.copy().put("token", lease.token());
    return redis.eval(POST, List.of(leaseKey, prefix + topic), lease.holder() + " " + lease.token(), field, stamped.encode())
        .map(r -> r.toInteger() == 1);
  }

  @Override
  public Future<Map<String, JsonObject>> read(String topic) {
    return redis.send(Request.cmd(Command.HGETALL).arg(prefix + topic)).map(r -> {
      Map<String, JsonObject> out = new LinkedHashMap<>();
      if (r != null) {
        for (String field : r.getKeys()) {
          Response v = r.get(field);
          try {
            out.put(field, new JsonObject(v.toString(StandardCharsets.UTF_8)));
          } catch (RuntimeException notJson) {
            // not written by us: ignored rather than failing every reader
          }
        }
      }
      return out;
    });
  }
}
