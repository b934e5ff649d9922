package dev.switchboard.model;

import dev.switchboard.config.ConfigFiles;
import dev.switchboard.config.ConfigNode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** {@code conf/model_provider.yaml}: the providers, and the model a task uses when it names none. */
public record ModelSettings(List<ProviderSettings> providers, String defaultModel) {

  public static final String FILE = "model_provider.yaml";
  private static final Pattern VAR = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)");

  public static ModelSettings load(ConfigFiles files) {
    ConfigNode root = files.load(FILE, true);
    ConfigNode raw = files.loadRaw(FILE);
    root.allowOnly("providers", "default_model", "groups", "retry", "circuit_breaker", "health_check", "embeddings");
    List<ConfigNode> rawProviders = raw.get("providers").list();
    List<ProviderSettings> providers = new ArrayList<>();
    Set<String> names = new HashSet<>();
    List<ConfigNode> nodes = root.get("providers").list();
    for (int i = 0; i < nodes.size(); i++) {
      String rawEndpoint = i < rawProviders.size() ? rawProviders.get(i).get("endpoint").string("") : "";
      ProviderSettings p = ProviderSettings.from(nodes.get(i), rawEndpoint);
      if (!names.add(p.name())) {
        throw nodes.get(i).get("name").error("duplicate provider name '" + p.name() + "'");
      }
      providers.add(p);
    }
    return new ModelSettings(List.copyOf(providers), root.get("default_model").string(""));
  }

  public boolean anyEnabled() {
    return providers.stream().anyMatch(ProviderSettings::enabled);
  }

  /** What an operator must set to get a model: the variables behind the empty endpoints. */
  public String howToEnable() {
    Set<String> vars = new java.util.LinkedHashSet<>();
    for (ProviderSettings p : providers) {
      Matcher m = VAR.matcher(p.endpointSource());
      while (m.find()) {
        vars.add(m.group(1));
      }
    }
    if (vars.isEmpty()) {
      return "add a provider with an endpoint to conf/" + FILE;
    }
    String keyHint = vars.contains("MODEL_ENDPOINT") ? " (and MODEL_API_KEY)" : "";
    return "set " + String.join(" or ", vars) + keyHint + " to an OpenAI-compatible base URL such as "
        + "https://api.deepseek.com/v1, or edit conf/" + FILE;
  }

  /** One line for the start-up banner. */
  public String summary() {
    if (providers.isEmpty()) {
      return "none";
    }
    List<String> parts = new ArrayList<>();
    for (ProviderSettings p : providers) {
      parts.add(p.enabled() ? p.name() + " (" + p.endpoint() + ")" : p.name() + " (off: endpoint unset)");
    }
    return String.join(", ", parts);
  }
}
