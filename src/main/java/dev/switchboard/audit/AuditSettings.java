package dev.switchboard.audit;

import dev.switchboard.config.ConfigNode;

/**
 * {@code audit:} in {@code switchboard.yaml}.
 *
 * @param enabled whether records are written at all (off: the audit entry of /readyz says so)
 * @param includeBodies whether records keep message bodies (request bodies of the API); off by
 *     default, because bodies hold what users wrote and what the audit log must not spread
 */
public record AuditSettings(boolean enabled, boolean includeBodies) {

  public static final AuditSettings DEFAULT = new AuditSettings(true, false);

  public static AuditSettings from(ConfigNode audit) {
    audit.allowOnly("enabled", "include_bodies");
    return new AuditSettings(audit.get("enabled").bool(true), audit.get("include_bodies").bool(false));
  }
}
