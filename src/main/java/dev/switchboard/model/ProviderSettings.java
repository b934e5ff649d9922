package dev.switchboard.model;

import dev.switchboard.config.ConfigNode;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One upstream from {@code model_provider.yaml}. A provider whose endpoint is empty (its
 * environment variable unset) is kept but off, so that start-up can say what to set.
 */
public record ProviderSettings(
    String name,
    String type,
    String endpoint,
    List<String> keys,
    List<String> models,
    List<String> tags,
    Duration connectTimeout,
    Duration firstTokenTimeout,
    Duration totalTimeout,
    int maxConcurrency,
    String probe,
    String probeModel,
    boolean required,
    boolean streamUsage,
    Map<String, Price> prices,
    String endpointSource) {

  public static final String TYPE_API_GATEWAY = "api_gateway";

  static final Duration DEFAULT_CONNECT = Duration.ofSeconds(5);
  static final Duration DEFAULT_FIRST_TOKEN = Duration.ofSeconds(60);
  static final Duration DEFAULT_TOTAL = Duration.ofSeconds(120);
  static final int DEFAULT_MAX_CONCURRENCY = 256;

  /** Prices per million tokens, in whatever currency the operator bills in. */
  public record Price(double prompt, double completion) {
    public double cost(long promptTokens, long completionTokens) {
      return (promptTokens * prompt + completionTokens * completion) / 1_000_000d;
    }
  }

  public boolean enabled() {
    return !endpoint.isEmpty();
  }

  /** True when this provider passes {@code model} through: listed by name, or {@code *}. */
  public boolean serves(String model) {
    return models.contains("*") || models.contains(model);
  }

  static ProviderSettings from(ConfigNode node, String rawEndpoint) {
    node.allowOnly("name", "type", "endpoint", "auth", "models", "tags", "timeouts", "max_concurrency",
        "health_check", "required", "stream_usage", "prices");
    String name = node.get("name").requiredString();
    String type = node.get("type").string(TYPE_API_GATEWAY);
    if (ProviderRegistry.get(type) == null) {
      throw node.get("type").error("unknown provider type '" + type + "' (available: " + ProviderRegistry.known() + ")");
    }
    String endpoint = node.get("endpoint").stringIfSet("");
    while (endpoint.endsWith("/")) {
      endpoint = endpoint.substring(0, endpoint.length() - 1);
    }
    if (!endpoint.isEmpty()) {
      URI uri;
      try {
        uri = URI.create(endpoint);
      } catch (IllegalArgumentException e) {
        throw node.get("endpoint").error("not a URL: '" + endpoint + "'");
      }
      if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme()) || uri.getHost() == null) {
        throw node.get("endpoint").error("expected an http:// or https:// URL, got '" + endpoint + "'");
      }
    }
    ConfigNode auth = node.get("auth");
    auth.allowOnly("type", "key", "keys");
    String authType = auth.get("type").string("api_key");
    if (!"api_key".equals(authType) && !"none".equals(authType)) {
      throw auth.get("type").error("expected api_key or none, got '" + authType + "'");
    }
    List<String> keys = new ArrayList<>(auth.get("key").stringsIfSet());
    keys.addAll(auth.get("keys").stringsIfSet());
    List<String> models = node.get("models").strings();
    if (models.isEmpty()) {
      models = List.of("*");
    }
    ConfigNode timeouts = node.get("timeouts");
    timeouts.allowOnly("connect", "first_token", "total");
    ConfigNode health = node.get("health_check");
    health.allowOnly("probe", "model");
    String probe = health.get("probe").string("models");
    if (!List.of("models", "completion", "none").contains(probe)) {
      throw health.get("probe").error("expected models, completion or none, got '" + probe + "'");
    }
    String probeModel = health.get("model").string(models.contains("*") ? "" : models.get(0));
    if ("completion".equals(probe) && probeModel.isEmpty()) {
      throw health.get("model").error("a completion probe needs a model name");
    }
    Map<String, Price> prices = new LinkedHashMap<>();
    ConfigNode priceNode = node.get("prices");
    for (String model : priceNode.keys()) {
      ConfigNode p = priceNode.get(model);
      p.allowOnly("prompt", "completion");
      prices.put(model, new Price(p.get("prompt").decimal(0), p.get("completion").decimal(0)));
    }
    return new ProviderSettings(
        name,
        type,
        endpoint,
        List.copyOf(keys),
        List.copyOf(models),
        node.get("tags").strings(),
        timeouts.get("connect").duration(DEFAULT_CONNECT),
        timeouts.get("first_token").duration(DEFAULT_FIRST_TOKEN),
        timeouts.get("total").duration(DEFAULT_TOTAL),
        node.get("max_concurrency").integer(DEFAULT_MAX_CONCURRENCY, 1, 100_000),
        probe,
        probeModel,
        node.get("required").bool(false),
        node.get("stream_usage").bool(true),
        Map.copyOf(prices),
        rawEndpoint);
  }
}
