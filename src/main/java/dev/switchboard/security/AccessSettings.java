package dev.switchboard.security;

import dev.switchboard.config.ConfigNode;
import java.util.logging.Logger;

/**
 * The role settings of the {@code security} section. {@code legacy_tokens} (default true in this
 * release; the default will change): a token without a {@code roles} claim, as every token minted
 * before roles existed, may use every route; false refuses it with a 403 that says to mint one
 * with {@code --role}. {@code metrics_token} (default false): {@code GET /metrics} needs a token
 * whose roles may read admin routes (admin or operator), instead of being open on the listener.
 */
public record AccessSettings(boolean legacyTokens, boolean metricsToken) {

  /** The one line start-up logs while tokens without roles are accepted. */
  public static final String LEGACY_WARNING = "security.legacy_tokens is true: tokens without a 'roles' claim may use "
      + "every route; mint tokens with --role admin|operator|client and set it to false (its default will change)";

  private static final Logger LOG = Logger.getLogger(AccessSettings.class.getName());

  public static final AccessSettings DEFAULT = new AccessSettings(true, false);

  public static AccessSettings from(ConfigNode security) {
    return new AccessSettings(security.get("legacy_tokens").bool(true), security.get("metrics_token").bool(false));
  }

  /** Says at start-up, once, that tokens without roles still open everything. */
  public void warnAtStart() {
    if (legacyTokens) {
      LOG.warning(LEGACY_WARNING);
    }
  }
}
