package dev.switchboard.observe;

import dev.switchboard.Settings;
import dev.switchboard.channel.ChannelSettings;
import dev.switchboard.model.GroupSettings;
import dev.switchboard.model.ModelSettings;
import dev.switchboard.model.ProviderSettings;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.config.MeterFilter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The one place that keeps label values bounded: a value that names a provider, model, group,
 * channel or bot is kept only when the configuration names it, and becomes {@value #OTHER}
 * otherwise; an HTTP method outside the standard ones becomes {@value #OTHER} too. Clients choose
 * model names (a {@code "*"} provider passes any name through) and HTTP methods, so without this
 * any of them could create series without bound.
 *
 * <p>It is a filter on the registry, so it covers every meter whoever registers it, and it reads
 * the allowed values at registration time from {@link #configure}: gateways that share one
 * registry in a JVM (tests) each set their own bounds before their verticles deploy. A meter
 * registered before the bounds are configured sees the empty bounds, where everything is other.
 */
public final class LabelBounds implements MeterFilter {

  public static final String OTHER = "other";

  /** Tag keys of our own meters whose values come from the configuration. */
  private static final Set<String> CONFIGURED_KEYS = Set.of("provider", "model", "group", "from", "to", "channel", "bot");

  /** RFC 9110 methods and PATCH; Vert.x accepts any token as a method, and labels requests with it. */
  private static final Set<String> HTTP_METHODS =
      Set.of("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH");

  /** An HTTP method's label: itself when standard, {@value #OTHER} otherwise. */
  public static String httpMethod(String method) {
    return HTTP_METHODS.contains(method) ? method : OTHER;
  }

  /** What the configuration names, per tag key; bots per channel. */
  public record Bounds(Set<String> providers, Set<String> models, Set<String> groups, Map<String, Set<String>> bots) {
    public static final Bounds NONE = new Bounds(Set.of(), Set.of(), Set.of(), Map.of());

    public Bounds {
      providers = Set.copyOf(providers);
      models = Set.copyOf(models);
      groups = Set.copyOf(groups);
      Map<String, Set<String>> copy = new HashMap<>();
      bots.forEach((channel, names) -> copy.put(channel, Set.copyOf(names)));
      bots = Map.copyOf(copy);
    }

    /** Everything {@code model_provider.yaml} and {@code channels.yaml} name. */
    public static Bounds of(ModelSettings models, ChannelSettings channels) {
      Set<String> providerNames = new HashSet<>();
      Set<String> modelNames = new HashSet<>();
      for (ProviderSettings p : models.providers()) {
        providerNames.add(p.name());
        p.models().stream().filter(m -> !"*".equals(m)).forEach(modelNames::add);
        modelNames.addAll(p.prices().keySet());
        if (!p.probeModel().isEmpty()) {
          modelNames.add(p.probeModel());
        }
      }
      Set<String> groupNames = new HashSet<>();
      for (GroupSettings g : models.groups()) {
        groupNames.add(g.name());
        g.deployments().forEach(d -> modelNames.add(d.model()));
      }
      if (!models.defaultModel().isEmpty()) {
        modelNames.add(models.defaultModel());
      }
      if (!models.embeddings().model().isEmpty()) {
        modelNames.add(models.embeddings().model());
      }
      Map<String, Set<String>> bots = new HashMap<>();
      channels.bots().forEach((channel, byName) -> bots.computeIfAbsent(channel, k -> new HashSet<>()).addAll(byName.keySet()));
      // app bots push too: replies in the conversation a message came from
      bots.computeIfAbsent("dingtalk", k -> new HashSet<>()).addAll(channels.dingtalkApps().keySet());
      bots.computeIfAbsent("feishu", k -> new HashSet<>()).addAll(channels.feishuApps().keySet());
      bots.computeIfAbsent("wecom", k -> new HashSet<>()).addAll(channels.wecomApps().keySet());
      return new Bounds(providerNames, modelNames, groupNames, bots);
    }

    boolean allows(String key, String value, Meter.Id id) {
      return switch (key) {
        case "provider" -> providers.contains(value);
        case "model" -> models.contains(value);
        case "group", "from", "to" -> groups.contains(value);
        case "channel" -> bots.containsKey(value);
        case "bot" -> bots.getOrDefault(id.getTag("channel"), Set.of()).contains(value);
        default -> true;
      };
    }
  }

  /**
   * Distinct {@code skill} label values kept per configuration; later ones are {@value #OTHER}. The
   * caller keeps a skill label to a registered skill's name, but plug-ins and MCP servers register
   * them, and a server's tools may keep changing while it runs.
   */
  public static final int MAX_SKILLS = 256;

  private static volatile Bounds bounds = Bounds.NONE;
  private static volatile Set<String> skills = java.util.concurrent.ConcurrentHashMap.newKeySet();

  /** Replaces the allowed values; call it before the verticles that register meters deploy. */
  public static void configure(Settings settings) {
    configure(Bounds.of(settings.models(), settings.channels()));
  }

  public static void configure(Bounds allowed) {
    bounds = allowed;
    skills = java.util.concurrent.ConcurrentHashMap.newKeySet();
  }

  public static Bounds current() {
    return bounds;
  }

  @Override
  public Meter.Id map(Meter.Id id) {
    String name = id.getName();
    boolean ours = name.startsWith("switchboard.");
    boolean http = name.startsWith("vertx.http.");
    if (!ours && !http) {
      return id;
    }
    Bounds allowed = bounds;
    List<Tag> tags = null;
    List<Tag> original = id.getTags();
    for (int i = 0; i < original.size(); i++) {
      Tag tag = original.get(i);
      if (!keeps(tag, ours, allowed, id)) {
        if (tags == null) {
          tags = new ArrayList<>(original);
        }
        tags.set(i, Tag.of(tag.getKey(), OTHER));
      }
    }
    return tags == null ? id : id.replaceTags(tags);
  }

  private static boolean keeps(Tag tag, boolean ours, Bounds allowed, Meter.Id id) {
    String key = tag.getKey();
    String value = tag.getValue();
    if ("method".equals(key)) {
      return HTTP_METHODS.contains(value) || OTHER.equals(value);
    }
    if (ours && "skill".equals(key) && !OTHER.equals(value)) {
      return keptSkill(value);
    }
    if (!ours || !CONFIGURED_KEYS.contains(key) || OTHER.equals(value)) {
      return true;
    }
    return allowed.allows(key, value, id);
  }

  /**
   * {@code value} of a configured key ({@code provider}, {@code model}, {@code bot}, ...) as the
   * filter keeps it under the bounds of now; {@code channel}: the channel of a bot. The registry
   * caches its lookups by the tags a meter is asked with, so a meter asked for with the raw name
   * keeps the label it first got: a name asked for before a reload named it would stay other.
   */
  public static String label(String key, String value, String channel) {
    if (value == null || OTHER.equals(value) || !CONFIGURED_KEYS.contains(key)) {
      return value;
    }
    Bounds allowed = bounds;
    boolean kept = "bot".equals(key) ? allowed.bots().getOrDefault(channel, Set.of()).contains(value)
        : allowed.allows(key, value, null);
    return kept ? value : OTHER;
  }

  /** The first {@link #MAX_SKILLS} skill names seen stay labels. */
  private static boolean keptSkill(String name) {
    Set<String> kept = skills;
    if (kept.contains(name)) {
      return true;
    }
    synchronized (LabelBounds.class) {
      if (kept.size() >= MAX_SKILLS) {
        return false;
      }
      kept.add(name);
      return true;
    }
  }
}
