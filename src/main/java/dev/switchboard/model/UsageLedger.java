package dev.switchboard.model;

import dev.switchboard.model.spi.ModelProvider.Usage;
import dev.switchboard.observe.LabelBounds;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Tokens and cost per provider, model, key and JWT subject since start-up. Metrics carry provider
 * and model only (subjects would make unbounded label sets); the API answers by any of the four.
 * Confined to the dispatcher's event loop.
 */
final class UsageLedger {

  record Entry(String provider, String model, String key, String subject) {
  }

  private static final class Totals {
    long requests;
    long prompt;
    long completion;
    double cost;
  }

  /** A deployment's counters, looked up once: registering them on every call was a hot spot of the proxy. */
  private static final class Meters {
    final String provider;
    final String model;
    final Counter prompt;
    final Counter completion;
    /** Registered with the first cost: a deployment without prices shows no cost series. */
    Counter cost;

    Meters(String provider, String model, Counter prompt, Counter completion) {
      this.provider = provider;
      this.model = model;
      this.prompt = prompt;
      this.completion = completion;
    }
  }

  private final Map<Entry, Totals> totals = new HashMap<>();
  /** Weak: a reload replaces the deployments (and may bound their labels differently). */
  private final Map<Deployment, Meters> meters = new java.util.WeakHashMap<>();
  private final MeterRegistry registry;
  private final Instant since = Instant.now();

  UsageLedger(MeterRegistry registry) {
    this.registry = registry;
  }

  void record(Deployment d, KeyPool.Key key, String subject, Usage usage) {
    Totals t = totals.computeIfAbsent(new Entry(d.provider.name(), d.model, key.id, subject == null ? "" : subject),
        e -> new Totals());
    t.requests++;
    t.prompt += usage.promptTokens();
    t.completion += usage.completionTokens();
    ProviderSettings.Price price = d.provider.settings.prices().get(d.model);
    double cost = price == null ? 0 : price.cost(usage.promptTokens(), usage.completionTokens());
    t.cost += cost;
    Meters m = meters.computeIfAbsent(d, this::meters);
    m.prompt.increment(usage.promptTokens());
    m.completion.increment(usage.completionTokens());
    if (cost > 0) {
      if (m.cost == null) {
        m.cost = Counter.builder("switchboard.model.cost").description("Cost of upstream calls by the configured prices")
            .tags("provider", m.provider, "model", m.model).register(registry);
      }
      m.cost.increment(cost);
    }
  }

  private Meters meters(Deployment d) {
    String provider = LabelBounds.label("provider", d.provider.name(), null);
    String model = LabelBounds.label("model", d.label, null);
    return new Meters(provider, model, tokens(provider, model, "prompt"), tokens(provider, model, "completion"));
  }

  private Counter tokens(String provider, String model, String type) {
    return Counter.builder("switchboard.model.tokens").description("Tokens by provider, model and type")
        .tags("provider", provider, "model", model, "type", type).register(registry);
  }

  /** Totals grouped by {@code by}: provider, model, key or subject. */
  JsonObject view(String by) {
    Map<String, Totals> grouped = new TreeMap<>();
    totals.forEach((entry, t) -> {
      String name = switch (by) {
        case "model" -> entry.model();
        case "key" -> entry.provider() + " " + entry.key();
        case "subject" -> entry.subject();
        default -> entry.provider();
      };
      Totals sum = grouped.computeIfAbsent(name, k -> new Totals());
      sum.requests += t.requests;
      sum.prompt += t.prompt;
      sum.completion += t.completion;
      sum.cost += t.cost;
    });
    JsonArray data = new JsonArray();
    grouped.forEach((name, t) -> data.add(new JsonObject()
        .put(by, name)
        .put("requests", t.requests)
        .put("prompt_tokens", t.prompt)
        .put("completion_tokens", t.completion)
        .put("total_tokens", t.prompt + t.completion)
        .put("cost", Math.round(t.cost * 1_000_000) / 1_000_000.0)));
    return new JsonObject().put("by", by).put("since", since.toString()).put("data", data);
  }
}
