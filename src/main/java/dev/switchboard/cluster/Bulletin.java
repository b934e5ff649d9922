package dev.switchboard.cluster;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.util.Map;

/**
 * What the leader tells the other instances: small JSON entries under a topic (e.g. each provider's
 * latest probe verdict under "probes"), written by the leader only and read by everyone. A write is
 * fenced: it lands only while the lease it names is still the current one in the store, so a leader
 * that lost the lead without noticing yet cannot overwrite its successor's entries. Each entry
 * carries the {@code token} it was written under, so a reader can ignore entries of a former leader.
 */
public interface Bulletin {

  /** Writes {@code value} (with {@code token} added) as {@code field} of {@code topic}; false when {@code lease} is not current. */
  Future<Boolean> post(String topic, String field, JsonObject value, Lease lease);

  /** Every entry of {@code topic}: field to value. */
  Future<Map<String, JsonObject>> read(String topic);
}
