package dev.switchboard.model;

import dev.switchboard.model.spi.ModelProvider;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;

/** The provider types on the class path, by their {@code type:} name. */
public final class ProviderRegistry {

  private static final Map<String, ModelProvider> TYPES = load();

  private ProviderRegistry() {
  }

  private static Map<String, ModelProvider> load() {
    Map<String, ModelProvider> types = new TreeMap<>();
    for (ModelProvider p : ServiceLoader.load(ModelProvider.class)) {
      types.putIfAbsent(p.type(), p);
    }
    return Map.copyOf(types);
  }

  /**
   * The types {@code type:} may name: {@code known} ones, and {@code off} ones (a disabled plug-in's),
   * whose providers are kept but off, with the reason given.
   */
  public record Types(Map<String, ModelProvider> known, Map<String, String> off) {
  }

  /**
   * The class path's types and those of plug-ins (loaded before the settings that name them are
   * parsed); a plug-in type never replaces one of the class path.
   */
  public static Types with(java.util.List<ModelProvider> plugins, Map<String, String> off) {
    Map<String, ModelProvider> types = new TreeMap<>(TYPES);
    for (ModelProvider p : plugins) {
      types.putIfAbsent(p.type(), p);
    }
    return new Types(types, Map.copyOf(off));
  }

  public static ModelProvider get(String type) {
    return TYPES.get(type);
  }

  public static String known() {
    return String.join(", ", new TreeMap<>(TYPES).keySet());
  }
}
