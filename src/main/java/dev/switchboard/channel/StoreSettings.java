package dev.switchboard.channel;

import dev.switchboard.config.ConfigNode;
import java.time.Duration;

/**
 * {@code channels.yaml} {@code store:}: how the channel component keeps its state (deliveries,
 * inbound claims, rate windows). The profile ({@code storage.profile} in switchboard.yaml) picks
 * where; these say how.
 *
 * @param keyPrefix distributed profile: what its Redis keys start with
 * @param lease how long an instance holds a delivery it works on without renewing it; another
 *     instance takes over a pending delivery whose lease ran out (its holder died)
 * @param retention finished deliveries (delivered, failed, dead) are removed this long after they
 *     ended
 */
public record StoreSettings(String keyPrefix, Duration lease, Duration retention) {

  public static final StoreSettings DEFAULT = new StoreSettings("switchboard:", Duration.ofSeconds(60), Duration.ofDays(7));

  static StoreSettings from(ConfigNode node) {
    node.allowOnly("key_prefix", "lease", "retention");
    String prefix = node.get("key_prefix").string(DEFAULT.keyPrefix());
    if (prefix.isBlank()) {
      throw node.get("key_prefix").error("must not be empty: the keys would mix with whatever else uses this Redis");
    }
    Duration lease = node.get("lease").duration(DEFAULT.lease());
    if (lease.compareTo(Duration.ofSeconds(1)) < 0 || lease.compareTo(Duration.ofHours(1)) > 0) {
      throw node.get("lease").error("expected a duration between 1s and 1h, got '" + node.get("lease").string("") + "'");
    }
    Duration retention = node.get("retention").duration(DEFAULT.retention());
    if (retention.compareTo(Duration.ofMinutes(1)) < 0) {
      throw node.get("retention").error("expected at least 1m, got '" + node.get("retention").string("") + "'");
    }
    return new StoreSettings(prefix, lease, retention);
  }
}
