package dev.switchboard.model;

import dev.switchboard.config.ConfigFiles;
import dev.switchboard.config.ConfigNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** {@code conf/model_provider.yaml}: providers, groups, and how failures are retried and contained. */
public record ModelSettings(List<ProviderSettings> providers, List<GroupSettings> groups, String defaultModel,
                            Retry retry, Breaker breaker, Health health, KeyCooldown keyCooldown, Embeddings embeddings) {

  public static final String FILE = "model_provider.yaml";

  /**
   * One retry loop per request: attempts, and a deadline that bounds the whole request (every
   * attempt's budget is cut to the time left; for streams, until the first token), backoff with
   * full jitter.
   */
  public record Retry(int maxAttempts, Duration deadline, Duration backoffBase, Duration backoffMax) {
    static Retry from(ConfigNode n) {
      n.allowOnly("max_attempts", "deadline", "backoff");
      ConfigNode b = n.get("backoff");
      b.allowOnly("base", "max");
      return new Retry(n.get("max_attempts").integer(3, 1, 20), n.get("deadline").duration(Duration.ofSeconds(60)),
          b.get("base").duration(Duration.ofMillis(100)), b.get("max").duration(Duration.ofSeconds(5)));
    }
  }

  /** Per-deployment circuit breaker over a sliding window. */
  public record Breaker(Duration window, int minCalls, double failureRate, Duration cooldown) {
    static Breaker from(ConfigNode n) {
      n.allowOnly("window", "min_calls", "failure_rate", "cooldown");
      double rate = n.get("failure_rate").decimal(0.5);
      if (rate <= 0 || rate > 1) {
        throw n.get("failure_rate").error("must be above 0 and at most 1, got " + rate);
      }
      return new Breaker(n.get("window").duration(Duration.ofSeconds(30)), n.get("min_calls").integer(10, 1, 1_000_000),
          rate, n.get("cooldown").duration(Duration.ofSeconds(30)));
    }
  }

  /**
   * Where vectors come from: {@code local} (the in-process model) or a provider's OpenAI-compatible
   * {@code /embeddings} with {@code model}; {@code batch} texts go in one upstream request.
   */
  public record Embeddings(String provider, String model, int batch) {
    public boolean local() {
      return "local".equals(provider);
    }

    static Embeddings from(ConfigNode n, Set<String> providerNames) {
      n.allowOnly("provider", "model", "batch");
      String provider = n.get("provider").string("local");
      String model = n.get("model").string("");
      if (!"local".equals(provider)) {
        if (!providerNames.contains(provider)) {
          throw n.get("provider").error("no provider named '" + provider + "' (or use \"local\" for the in-process model)");
        }
        if (model.isEmpty()) {
          throw n.get("model").error("name the embedding model that provider '" + provider + "' serves");
        }
      }
      return new Embeddings(provider, model, n.get("batch").integer(32, 1, 2048));
    }
  }

  /**
   * Health probes: how often, and how long one may take; and {@code down_after}: that many live
   * calls in a row failing for connect errors, 5xx or timeouts mark a provider down between probes
   * (0: only probes decide).
   */
  public record Health(Duration interval, Duration timeout, int downAfter) {
    static Health from(ConfigNode n) {
      n.allowOnly("interval", "timeout", "down_after");
      return new Health(n.get("interval").duration(Duration.ofMinutes(5)), n.get("timeout").duration(Duration.ofSeconds(10)),
          n.get("down_after").integer(5, 0, 1_000_000));
    }
  }

  /** How long a key rests: after a 429 (doubling on repeats up to {@code max}), and after an auth or quota error. */
  public record KeyCooldown(Duration rateLimited, Duration max, Duration disabled) {
    static KeyCooldown from(ConfigNode n) {
      n.allowOnly("rate_limited", "max", "disabled");
      return new KeyCooldown(n.get("rate_limited").duration(Duration.ofSeconds(5)), n.get("max").duration(Duration.ofMinutes(5)),
          n.get("disabled").duration(Duration.ofHours(1)));
    }
  }

  public static ModelSettings load(ConfigFiles files) {
    return load(files, List.of(), java.util.Map.of());
  }

  /**
   * {@code plugins}: the provider types of the enabled plug-ins, which {@code type:} may name too;
   * {@code off}: those of disabled plug-ins, whose providers are kept but off, with the reason.
   */
  public static ModelSettings load(ConfigFiles files, List<dev.switchboard.model.spi.ModelProvider> plugins,
                                   java.util.Map<String, String> off) {
    ProviderRegistry.Types types = ProviderRegistry.with(plugins, off);
    ConfigNode root = files.load(FILE, true);
    ConfigNode raw = files.loadRaw(FILE);
    root.allowOnly("providers", "default_model", "groups", "retry", "circuit_breaker", "health_check", "key_cooldown", "embeddings",
        "limits");
    ProviderSettings.Limits limits = ProviderSettings.Limits.from(root.get("limits"), ProviderSettings.Limits.DEFAULT);
    List<ConfigNode> rawProviders = raw.get("providers").list();
    List<ProviderSettings> providers = new ArrayList<>();
    Set<String> names = new HashSet<>();
    List<ConfigNode> nodes = root.get("providers").list();
    for (int i = 0; i < nodes.size(); i++) {
      String rawEndpoint = i < rawProviders.size() ? rawProviders.get(i).get("endpoint").string("") : "";
      ProviderSettings p = ProviderSettings.from(nodes.get(i), rawEndpoint, limits, types);
      if (!names.add(p.name())) {
        throw nodes.get(i).get("name").error("duplicate provider name '" + p.name() + "'");
      }
      providers.add(p);
    }
    List<GroupSettings> groups = new ArrayList<>();
    Set<String> groupNames = new HashSet<>();
    List<ConfigNode> groupNodes = root.get("groups").list();
    for (ConfigNode node : groupNodes) {
      GroupSettings g = GroupSettings.from(node);
      if (!groupNames.add(g.name())) {
        throw node.get("name").error("duplicate group name '" + g.name() + "'");
      }
      for (int i = 0; i < g.deployments().size(); i++) {
        String provider = g.deployments().get(i).provider();
        if (!names.contains(provider)) {
          throw node.get("deployments").list().get(i).get("provider").error("no provider named '" + provider + "'");
        }
      }
      groups.add(g);
    }
    for (int i = 0; i < groups.size(); i++) {
      GroupSettings g = groups.get(i);
      List<String> refs = new ArrayList<>(g.fallbacks());
      if (!g.contextWindowFallback().isEmpty()) {
        refs.add(g.contextWindowFallback());
      }
      for (String ref : refs) {
        if (!groupNames.contains(ref)) {
          throw groupNodes.get(i).get("fallbacks").error("no group named '" + ref + "'");
        }
      }
    }
    return new ModelSettings(List.copyOf(providers), List.copyOf(groups), root.get("default_model").string(""),
        Retry.from(root.get("retry")), Breaker.from(root.get("circuit_breaker")), Health.from(root.get("health_check")),
        KeyCooldown.from(root.get("key_cooldown")), Embeddings.from(root.get("embeddings"), names));
  }

  public boolean anyEnabled() {
    return providers.stream().anyMatch(ProviderSettings::enabled);
  }

  /** What an operator must set to get a model: per provider that is off, the variables it lacks. */
  public String howToEnable() {
    List<String> ways = new ArrayList<>();
    for (ProviderSettings p : providers) {
      if (!p.enabled() && !p.missingVariables().isEmpty()) {
        ways.add(String.join(" and ", new LinkedHashSet<>(p.missingVariables())) + " (provider '" + p.name() + "')");
      }
    }
    if (ways.isEmpty() && providers.stream().anyMatch(p -> !p.enabled())) {
      // off for a reason no variable fixes (a disabled plug-in's type, say): the reasons are the way
      return String.join("; ", providers.stream().filter(p -> !p.enabled())
          .map(p -> "provider '" + p.name() + "' is off: " + p.offReason()).toList());
    }
    if (ways.isEmpty()) {
      return providers.isEmpty() ? "add a provider with an endpoint to conf/" + FILE
          : "give a provider an endpoint (and a key, unless auth.type is none) in conf/" + FILE;
    }
    return "set " + String.join(" or ", ways) + ": an endpoint is an OpenAI-compatible base URL such as "
        + "https://api.deepseek.com/v1; or edit conf/" + FILE;
  }

  /** Scheme, host and port only: an endpoint may carry credentials in its user info or query. */
  static String hostOf(String endpoint) {
    java.net.URI uri = java.net.URI.create(endpoint);
    return uri.getScheme() + "://" + uri.getHost() + (uri.getPort() > 0 ? ":" + uri.getPort() : "");
  }

  /** One line for the start-up banner. */
  public String summary() {
    if (providers.isEmpty()) {
      return "none";
    }
    List<String> parts = new ArrayList<>();
    for (ProviderSettings p : providers) {
      parts.add(p.enabled() ? p.name() + " (" + hostOf(p.endpoint()) + ")" : p.name() + " (off: " + p.offReason() + ")");
    }
    String out = String.join(", ", parts);
    return groups.isEmpty() ? out : out + "; groups: " + String.join(", ", groups.stream().map(GroupSettings::name).toList());
  }

}
