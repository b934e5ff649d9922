package dev.switchboard.model;

import dev.switchboard.bus.Failure;
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
 * the operator is told, once. Keys are shown by an id derived from a hash, never by value.
 * A provider without keys has one stand-in, {@link Key#none() no key}, so that an upstream that
 * refuses requests without one is held off the same way. Confined to the dispatcher's event loop.
 */
final class KeyPool {

  private static final Logger LOG = Logger.getLogger(KeyPool.class.getName());

  static final class Key {
    final String id;
    /** null for the stand-in of a provider that sends no key. */
    final String value;
    long cooldownUntil;
    int strikes;
    /** {@code rate limited} or {@code disabled}, while resting. */
    String reason;
    /** What the upstream said when it disabled this key, and the error code it came with. */
    String why;
    String whyCode;

    Key(int index, String value) {
      this.value = value;
      this.id = value == null ? "none" : "key-" + (index + 1) + ":" + fingerprint(value);
    }

    boolean none() {
      return value == null;
    }

    /** For the log: the id, or what the stand-in of a keyless provider stands for. */
    String label() {
      return none() ? "calls without a key" : id;
    }

    boolean available(long now) {
      return cooldownUntil <= now;
    }

    boolean disabled(long now) {
      return !available(now) && "disabled".equals(reason);
    }
  }

  /** What the keys allow, for the deployment state and for the error a refused request gets. */
  enum State { OK, RESTING, DISABLED }

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
    if (keys.isEmpty()) {
      keys.add(new Key(0, null));
    }
  }

  /** No keys configured: requests go without credentials. */
  boolean keyless() {
    return keys.get(0).none();
  }

  /** The next key that is not resting, or null when all are. */
  Key pick(long now) {
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
    return keys.stream().anyMatch(k -> k.available(now));
  }

  /** OK while a key is free; DISABLED when every key was refused; else RESTING. */
  State state(long now) {
    if (anyAvailable(now)) {
      return State.OK;
    }
    return keys.stream().allMatch(k -> k.disabled(now)) ? State.DISABLED : State.RESTING;
  }

  /** Why no key can be used now, for a client: which provider, what was refused, until when (never a key). */
  Failure refusal(long now) {
    String who = "upstream '" + provider + "'";
    if (state(now) == State.DISABLED) {
      Key first = keys.get(0);
      String what = keyless() ? "refused requests without a key" : keys.size() == 1 ? "refused its key" : "refused all its keys";
      String why = first.why == null ? "" : " (" + first.why + ")";
      return Failure.badGateway(first.whyCode == null ? "upstream_auth_failed" : first.whyCode, who + " " + what + why + "; it is not asked again before "
          + Instant.ofEpochMilli(nextAvailable()) + " unless a probe succeeds: check its auth settings");
    }
    long waitMs = Math.max(0, nextAvailable() - now);
    return new Failure(429, "rate_limit_error", "keys_resting", who + " rate-limited "
        + (keys.size() == 1 ? "its key" : "all its keys") + "; the first is free again at " + Instant.ofEpochMilli(nextAvailable())
        + " (in " + Math.max(1, (waitMs + 999) / 1000) + "s)");
  }

  /** For a probe: a key that works if there is one, else the first (a good answer re-enables it). */
  Key probeKey(long now) {
    Key k = pick(now);
    return k != null ? k : keys.get(0);
  }

  void ok(Key key) {
    if (key.strikes > 0 || key.reason != null) {
      if ("disabled".equals(key.reason)) {
        LOG.info("provider '" + provider + "': " + key.label() + " accepted again");
      }
      key.strikes = 0;
      key.reason = null;
      key.why = null;
      key.whyCode = null;
    }
  }

  /**
   * A 429: rest for {@code Retry-After} when given, else a short time that doubles on each repeat.
   * Without keys there is nothing to rest: the retry loop waits instead.
   */
  void rateLimited(Key key, long now, long retryAfterMs) {
    if (key.none()) {
      return;
    }
    key.strikes++;
    long rest = retryAfterMs > 0 ? retryAfterMs
        : Math.min(cooldown.max().toMillis(), cooldown.rateLimited().toMillis() << Math.min(20, key.strikes - 1));
    key.cooldownUntil = Math.max(key.cooldownUntil, now + rest);
    if (!key.disabled(now)) {
      key.reason = "rate limited";
    }
  }

  /** Rejected credentials or an exhausted quota: a long rest, and one line for the operator. */
  void disable(Key key, long now, Failure refused) {
    boolean already = key.disabled(now);
    String prefix = "upstream '" + provider + "' ";
    String why = refused.getMessage().startsWith(prefix) ? refused.getMessage().substring(prefix.length()) : refused.getMessage();
    key.cooldownUntil = Math.max(key.cooldownUntil, now + cooldown.disabled().toMillis());
    key.reason = "disabled";
    key.why = why;
    key.whyCode = refused.code();
    if (!already) {
      // calls that were in flight with the same key come back refused too: one line is enough
      LOG.warning("provider '" + provider + "': " + key.label() + " disabled until " + Instant.ofEpochMilli(key.cooldownUntil)
          + ": " + why);
    }
  }

  /** A probe answered with this key: whatever rest it had is over. */
  void enable(Key key) {
    if (key.cooldownUntil > 0) {
      if ("disabled".equals(key.reason)) {
        LOG.info("provider '" + provider + "': " + key.label() + " re-enabled: a probe with it succeeded");
      }
      key.cooldownUntil = 0;
      key.strikes = 0;
      key.reason = null;
      key.why = null;
      key.whyCode = null;
    }
  }

  JsonArray view(long now) {
    JsonArray out = new JsonArray();
    for (Key k : keys) {
      if (k.none()) {
        continue;
      }
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
