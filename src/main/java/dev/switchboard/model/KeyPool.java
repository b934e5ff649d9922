package dev.switchboard.model;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.logging.Logger;

/**
 * A provider's API keys, used round-robin. A key that hits a rate limit rests briefly (longer on
 * each repeat); a key the upstream rejects (401/403, quota or billing) rests for a long time and
 * the operator is told. Keys are shown by an id derived from a hash, never by value.
 * Confined to the dispatcher's event loop.
 */
final class KeyPool {

  private static final Logger LOG = Logger.getLogger(KeyPool.class.getName());

  static final class Key {
    final String id;
    final String value;
    long cooldownUntil;
    int strikes;
    String reason;

    Key(int index, String value) {
      this.value = value;
      this.id = "key-" + (index + 1) + ":" + fingerprint(value);
    }

    boolean available(long now) {
      return cooldownUntil <= now;
    }
  }

  private final String provider;
  private final List<Key> keys = new ArrayList<>();
  private final ModelSettings.KeyCooldown cooldown;
  private int next;

  KeyPool(String provider, List<String> values, ModelSettings.KeyCooldown cooldown) {
    this.provider = provider;
    this.cooldown = cooldown;
    for (int i = 0; i < values.size(); i++) {
      keys.add(new Key(i, values.get(i)));
    }
  }

  /** No keys configured: requests go without credentials. */
  static final Key NO_KEY = new Key(-1, "");

  boolean isEmpty() {
    return keys.isEmpty();
  }

  /** The next key that is not resting, or null when all are. */
  Key pick(long now) {
    if (keys.isEmpty()) {
      return NO_KEY;
    }
    for (int i = 0; i < keys.size(); i++) {
      Key k = keys.get(Math.floorMod(next++, keys.size()));
      if (k.available(now)) {
        return k;
      }
    }
    return null;
  }

  /** When the first resting key is free again. */
  long nextAvailable() {
    return keys.stream().mapToLong(k -> k.cooldownUntil).min().orElse(0);
  }

  boolean anyAvailable(long now) {
    return keys.isEmpty() || keys.stream().anyMatch(k -> k.available(now));
  }

  /** For a probe: a key that works if there is one, else the first (a good answer re-enables it). */
  Key probeKey(long now) {
    Key k = pick(now);
    return k != null ? k : keys.get(0);
  }

  void ok(Key key) {
    if (key != NO_KEY && key.strikes > 0) {
      key.strikes = 0;
      key.reason = null;
    }
  }

  /** A 429: rest for {@code Retry-After} when given, else a short time that doubles on each repeat. */
  void rateLimited(Key key, long now, long retryAfterMs) {
    if (key == NO_KEY) {
      return;
    }
    key.strikes++;
    long rest = retryAfterMs > 0 ? retryAfterMs
        : Math.min(cooldown.max().toMillis(), cooldown.rateLimited().toMillis() << Math.min(20, key.strikes - 1));
    key.cooldownUntil = Math.max(key.cooldownUntil, now + rest);
    key.reason = "rate limited";
  }

  /** Rejected credentials or an exhausted quota: a long rest, and a line for the operator. */
  void disable(Key key, long now, String why) {
    if (key == NO_KEY) {
      return;
    }
    key.cooldownUntil = now + cooldown.disabled().toMillis();
    key.reason = "disabled";
    LOG.warning("provider '" + provider + "': " + key.id + " disabled until "
        + Instant.ofEpochMilli(key.cooldownUntil) + ": " + why);
  }

  void enable(Key key) {
    if (key != NO_KEY && key.cooldownUntil > 0) {
      key.cooldownUntil = 0;
      key.strikes = 0;
      key.reason = null;
    }
  }

  JsonArray view(long now) {
    JsonArray out = new JsonArray();
    for (Key k : keys) {
      boolean resting = !k.available(now);
      out.add(new JsonObject()
          .put("id", k.id)
          .put("state", resting ? ("disabled".equals(k.reason) ? "disabled" : "cooldown") : "ok")
          .put("cooldown_until", resting ? Instant.ofEpochMilli(k.cooldownUntil).toString() : null));
    }
    return out;
  }

  private static String fingerprint(String value) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(value.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest, 0, 4);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
