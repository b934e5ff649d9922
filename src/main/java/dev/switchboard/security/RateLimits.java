package dev.switchboard.security;

import dev.switchboard.config.ConfigNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code security.rate_limits} in switchboard.yaml: token buckets that hold each caller to a rate,
 * with room for a burst. Token routes are limited per subject (the token's {@code sub}), webhooks
 * per client address. One bucket answers for a request, the most specific that is configured: the
 * subject's own ({@code subjects}), else its bucket for the route family ({@code families}), else
 * its bucket for everything else ({@code default}). Absent (the shipped default): nothing is
 * limited.
 *
 * @param fallback {@code default}: each subject's bucket for the families without a limit of their own; null: none
 * @param families {@code families.<scope>}: each subject gets one bucket per listed family
 * @param subjects {@code subjects.<sub>}: this subject's one bucket for all its requests, instead of the others
 * @param webhooksPerIp {@code webhooks_per_ip}: each client address's bucket for {@code /webhooks/...}; null: none
 */
public record RateLimits(Limit fallback, Map<RouteFamily, Limit> families, Map<String, Limit> subjects, Limit webhooksPerIp) {

  public static final RateLimits OFF = new RateLimits(null, Map.of(), Map.of(), null);

  /** Bounds that keep the arithmetic exact and a typo (a rate of 10^12) visible. */
  private static final int MAX_COUNT = 1_000_000;
  private static final Duration MIN_PER = Duration.ofMillis(1);
  private static final Duration MAX_PER = Duration.ofDays(1);

  public RateLimits {
    families = Map.copyOf(families);
    subjects = Map.copyOf(subjects);
  }

  /**
   * {@code rate} tokens come back every {@code per}, up to {@code burst} (how many requests may
   * arrive at once after a quiet spell); each request takes one.
   */
  public record Limit(int rate, Duration per, int burst) {
    /** The time one token takes to come back, in ms (fractional). */
    public double msPerToken() {
      return per.toMillis() / (double) rate;
    }
  }

  /** A bucket to take from: its key (unique per caller and scope) and its limit; {@code who} names it in the 429. */
  public record Bucket(String key, Limit limit, String who) {
  }

  /** Whether token routes are limited at all. */
  public boolean limitsSubjects() {
    return fallback != null || !families.isEmpty() || !subjects.isEmpty();
  }

  /** The bucket a request of {@code subject} on {@code family} takes from, or null when it is not limited. */
  public Bucket forSubject(String subject, RouteFamily family) {
    // the key's first part is fixed by the rule, so no subject (whatever it contains) can reach another's bucket
    Limit own = subjects.get(subject);
    if (own != null) {
      return new Bucket("all:" + subject, own, "subject '" + subject + "'");
    }
    Limit forFamily = families.get(family);
    if (forFamily != null) {
      return new Bucket("family:" + family.scope() + ":" + subject, forFamily, "subject '" + subject + "' on " + family.scope());
    }
    return fallback == null ? null : new Bucket("all:" + subject, fallback, "subject '" + subject + "'");
  }

  /** The bucket of a webhook request from {@code address}, or null when webhooks are not limited. */
  public Bucket forAddress(String address) {
    if (webhooksPerIp == null) {
      return null;
    }
    String client = clientBlock(address);
    return new Bucket("ip:" + client, webhooksPerIp, "client address " + client + " on webhooks");
  }

  /**
   * An IPv4 address as it is; an IPv6 one as its /64, the smallest block a subscriber is given:
   * counted per address, one host could take a fresh bucket for every request (2^64 of them),
   * and so pass the limit and grow the buckets without bound.
   */
  static String clientBlock(String address) {
    java.net.InetAddress a = address.indexOf(':') < 0 ? null : OutboundGuard.literal(address);
    if (!(a instanceof java.net.Inet6Address)) {
      return address;
    }
    byte[] b = a.getAddress();
    return String.format("%x:%x:%x:%x::/64", (b[0] & 0xff) << 8 | (b[1] & 0xff), (b[2] & 0xff) << 8 | (b[3] & 0xff),
        (b[4] & 0xff) << 8 | (b[5] & 0xff), (b[6] & 0xff) << 8 | (b[7] & 0xff));
  }

  /** {@code node}: the {@code security.rate_limits} section. */
  public static RateLimits from(ConfigNode node) {
    if (node.isMissing()) {
      return OFF;
    }
    node.allowOnly("default", "families", "subjects", "webhooks_per_ip");
    Limit fallback = limit(node.get("default"));
    Map<RouteFamily, Limit> families = new EnumMap<>(RouteFamily.class);
    ConfigNode fams = node.get("families");
    for (String scope : fams.keys()) {
      RouteFamily family = RouteFamily.byScope(scope);
      ConfigNode entry = fams.get(scope);
      if (family == RouteFamily.WEBHOOKS) {
        throw entry.error("webhooks carry no token to count by: limit them per client address with "
            + "security.rate_limits.webhooks_per_ip");
      }
      if (family == null || family == RouteFamily.OPEN) {
        throw entry.error("unknown route family (known here: " + String.join(", ", limitable()) + ")");
      }
      families.put(family, required(entry));
    }
    Map<String, Limit> subjects = new LinkedHashMap<>();
    ConfigNode subs = node.get("subjects");
    for (String subject : subs.keys()) {
      subjects.put(subject, required(subs.get(subject)));
    }
    return new RateLimits(fallback, families, subjects, limit(node.get("webhooks_per_ip")));
  }

  private static List<String> limitable() {
    List<String> scopes = new ArrayList<>();
    for (RouteFamily f : RouteFamily.values()) {
      if (f != RouteFamily.WEBHOOKS && f != RouteFamily.OPEN) {
        scopes.add(f.scope());
      }
    }
    return scopes;
  }

  private static Limit required(ConfigNode node) {
    if (node.isMissing()) {
      throw node.error("expected { rate: <n>, per: <duration>, burst: <n> }");
    }
    return limit(node);
  }

  private static Limit limit(ConfigNode node) {
    if (node.isMissing()) {
      return null;
    }
    node.allowOnly("rate", "per", "burst");
    if (node.get("rate").isMissing()) {
      throw node.get("rate").error("is required: how many requests come back every 'per'");
    }
    int rate = node.get("rate").integer(0, 1, MAX_COUNT);
    Duration per = node.get("per").duration(Duration.ofSeconds(1));
    if (per.compareTo(MIN_PER) < 0 || per.compareTo(MAX_PER) > 0) {
      throw node.get("per").error("expected a duration between 1ms and 1d, got '" + node.get("per").string("") + "'");
    }
    // without a burst, a quiet caller may send one 'per' worth at once
    int burst = node.get("burst").integer(rate, 1, MAX_COUNT);
    return new Limit(rate, per, burst);
  }
}
