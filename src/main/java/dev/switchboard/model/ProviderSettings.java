package dev.switchboard.model;

import dev.switchboard.config.ConfigNode;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One upstream from {@code model_provider.yaml}. A provider whose endpoint is empty, or that needs a
 * key ({@code auth.type: api_key}) and has none, is kept but off, with the reason and the variables
 * to set, so that start-up can say so; without an {@code auth} section (or with
 * {@code type: none}) a provider sends no key, as local servers (vLLM, Ollama, llama.cpp) expect.
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
    Limits limits,
    String offReason,
    List<String> missingVariables,
    dev.switchboard.model.spi.ModelProvider protocol) {

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

  public static final long DEFAULT_MAX_RESPONSE_SIZE = 16L * 1024 * 1024;
  public static final long DEFAULT_MAX_EVENT_SIZE = 1024L * 1024;

  /**
   * How much of an upstream's answer the gateway will hold: a whole non-streamed body (chat,
   * embeddings, model lists, probes), the bytes of a stream before its first token, and one stream
   * event (or the bytes that arrive without completing one). Over it, the call fails with 502 and the
   * connection is closed.
   */
  public record Limits(long maxResponseSize, long maxEventSize) {
    public static final Limits DEFAULT = new Limits(DEFAULT_MAX_RESPONSE_SIZE, DEFAULT_MAX_EVENT_SIZE);

    static Limits from(ConfigNode n, Limits defaults) {
      n.allowOnly("max_response_size", "max_event_size");
      return new Limits(positive(n.get("max_response_size"), defaults.maxResponseSize()),
          positive(n.get("max_event_size"), defaults.maxEventSize()));
    }

    private static long positive(ConfigNode n, long fallback) {
      long size = n.size(fallback);
      if (size < 1024 || size > Integer.MAX_VALUE) {
        throw n.error("must be between 1kb and 2gb, got " + size + " bytes");
      }
      return size;
    }

    /** A size as people write it: 16 MB, 512 KB, 1000 bytes. */
    public static String describe(long bytes) {
      if (bytes % (1024 * 1024) == 0) {
        return bytes / (1024 * 1024) + " MB";
      }
      return bytes % 1024 == 0 ? bytes / 1024 + " KB" : bytes + " bytes";
    }
  }

  /** On unless its endpoint is empty or it needs a key and has none. */
  public boolean enabled() {
    return offReason == null;
  }

  /**
   * {@code request} to this provider's endpoint, with {@code key} (null: none) in the headers its
   * protocol puts it in: what every call sends, and what {@code doctor} probes with.
   */
  public io.vertx.core.http.RequestOptions requestOptions(dev.switchboard.model.spi.ModelProvider.Request request, String key) {
    io.vertx.core.http.RequestOptions options = new io.vertx.core.http.RequestOptions()
        .setMethod(request.method())
        .setAbsoluteURI(endpoint + request.path())
        .setFollowRedirects(false)
        .putHeader("Accept", "application/json, text/event-stream");
    if (request.body() != null) {
      options.putHeader("Content-Type", "application/json");
    }
    if (key != null) {
      protocol.auth(key).forEach(options::putHeader);
    }
    return options;
  }

  /** True when this provider passes {@code model} through: listed by name, or {@code *}. */
  public boolean serves(String model) {
    return models.contains("*") || models.contains(model);
  }

  /** {@code types}: the provider types there are (the class path's and the plug-ins'). */
  static ProviderSettings from(ConfigNode node, String rawEndpoint, Limits defaultLimits, ProviderRegistry.Types types) {
    node.allowOnly("name", "type", "endpoint", "auth", "models", "tags", "timeouts", "max_concurrency",
        "health_check", "required", "stream_usage", "prices", "limits");
    String name = node.get("name").requiredString();
    String type = node.get("type").string(TYPE_API_GATEWAY);
    if (!types.known().containsKey(type) && !types.off().containsKey(type)) {
      throw node.get("type").error("unknown provider type '" + type + "' (available: " + String.join(", ", types.known().keySet()) + ")");
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
    // no auth section: no key, as a local server expects; a section with a key means api_key
    String authType = auth.get("type").string(auth.isMissing() ? "none" : "api_key");
    if (!"api_key".equals(authType) && !"none".equals(authType)) {
      throw auth.get("type").error("expected api_key or none, got '" + authType + "'");
    }
    List<String> keys = new ArrayList<>(auth.get("key").stringsIfSet());
    keys.addAll(auth.get("keys").stringsIfSet());
    if ("none".equals(authType) && (!auth.get("key").isMissing() || !auth.get("keys").isMissing())) {
      throw auth.get("type").error("is none, but a key is given: write type: api_key, or remove the key");
    }
    List<String> offReasons = new ArrayList<>();
    List<String> missing = new ArrayList<>();
    if (types.off().containsKey(type)) {
      offReasons.add(types.off().get(type));
    }
    if (endpoint.isEmpty()) {
      List<String> vars = node.get("endpoint").unsetVariables();
      if (vars.isEmpty()) {
        vars = variablesIn(rawEndpoint);
      }
      missing.addAll(vars);
      offReasons.add("endpoint unset" + (vars.isEmpty() ? "" : " (" + String.join(", ", vars) + ")"));
    }
    if ("api_key".equals(authType) && keys.isEmpty()) {
      List<String> vars = new ArrayList<>(auth.get("key").unsetVariables());
      vars.addAll(auth.get("keys").unsetVariables());
      missing.addAll(vars);
      offReasons.add(vars.isEmpty() ? "no key (auth.key)" : "key unset (" + String.join(", ", vars) + ")");
    }
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
        Limits.from(node.get("limits"), defaultLimits),
        offReasons.isEmpty() ? null : String.join(", ", offReasons),
        List.copyOf(missing),
        types.known().get(type));
  }

  private static final java.util.regex.Pattern VAR = java.util.regex.Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)");

  /** The variables a raw value refers to: an endpoint of {@code ${X:-}} is empty without being unset. */
  private static List<String> variablesIn(String raw) {
    List<String> vars = new ArrayList<>();
    java.util.regex.Matcher m = VAR.matcher(raw == null ? "" : raw);
    while (m.find()) {
      vars.add(m.group(1));
    }
    return vars;
  }
}
