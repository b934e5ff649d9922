package dev.switchboard.security;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The revoked {@code jti}s this instance knows, in memory, so that checking one costs a map look-up
 * on every request, cached token or not. Filled from the {@link RevokedTokens} store at start, by
 * this instance's revocations, and (distributed profile) by {@link RevocationVerticle}'s refresh.
 * An entry goes once its token could no longer be accepted anyway.
 */
final class Revocations {

  /** For good: a token without exp never stops being accepted by itself. */
  static final long FOREVER = Long.MAX_VALUE;

  /** jti → until when (epoch ms) it is refused. */
  private final Map<String, Long> until = new ConcurrentHashMap<>();

  boolean revoked(String jti) {
    if (jti == null) {
      return false;
    }
    Long u = until.get(jti);
    return u != null && u > System.currentTimeMillis();
  }

  void add(String jti, long untilMillis) {
    until.merge(jti, untilMillis, Math::max);
  }

  void addAll(Map<String, Long> entries) {
    entries.forEach(this::add);
  }

  /** Drops the entries whose tokens have expired; how many went. */
  int sweep(long now) {
    int before = until.size();
    until.values().removeIf(u -> u <= now);
    return before - until.size();
  }

  int size() {
    return until.size();
  }
}
