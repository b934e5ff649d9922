package dev.switchboard.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One value of a parsed YAML file, with the dotted path that leads to it so that every problem can
 * be reported as file + key. Strings have had {@code ${VAR}} / {@code ${VAR:-default}} substituted,
 * and typed getters accept a string where a number or duration is expected, because substitution
 * always yields strings ({@code port: ${SWITCHBOARD_HTTP_PORT:-18789}}).
 */
public final class ConfigNode {

  private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)");

  private final String file;
  private final String path;
  private final Object value;

  ConfigNode(String file, String path, Object value) {
    this.file = file;
    this.path = path;
    this.value = value;
  }

  /**
   * Plain data that did not come from a file (a rule posted as JSON), read with the same getters
   * and errors; {@code file} names where it came from. No variables are substituted.
   */
  public static ConfigNode of(String file, Object value) {
    return new ConfigNode(file, "", value);
  }

  /** An absent section: every getter answers its default. */
  public static ConfigNode empty(String file) {
    return new ConfigNode(file, "", null);
  }

  public String file() {
    return file;
  }

  public String path() {
    return path;
  }

  public boolean isMissing() {
    return value == null;
  }

  public ConfigError error(String problem) {
    return new ConfigError(file, path, problem);
  }

  public ConfigNode get(String key) {
    String childPath = path.isEmpty() ? key : path + "." + key;
    if (value == null) {
      return new ConfigNode(file, childPath, null);
    }
    if (!(value instanceof Map<?, ?> map)) {
      throw error("expected a mapping with key '" + key + "', got " + describe(value));
    }
    return new ConfigNode(file, childPath, map.get(key));
  }

  public List<ConfigNode> list() {
    if (value == null) {
      return List.of();
    }
    if (!(value instanceof List<?> items)) {
      throw error("expected a list, got " + describe(value));
    }
    List<ConfigNode> nodes = new ArrayList<>(items.size());
    for (int i = 0; i < items.size(); i++) {
      nodes.add(new ConfigNode(file, path + "[" + i + "]", items.get(i)));
    }
    return nodes;
  }

  /** A list of strings, where a single string counts as a list of one. Empty strings are dropped. */
  public List<String> strings() {
    if (value instanceof ConfigFiles.Unset) {
      string(""); // throws, naming the variable
    }
    if (value instanceof String || value instanceof Number || value instanceof Boolean) {
      String s = value.toString().trim();
      return s.isEmpty() ? List.of() : List.of(s);
    }
    List<String> out = new ArrayList<>();
    for (ConfigNode item : list()) {
      String s = item.string("");
      if (!s.isEmpty()) {
        out.add(s);
      }
    }
    return out;
  }

  public String string(String fallback) {
    if (value == null) {
      return fallback;
    }
    if (value instanceof ConfigFiles.Unset unset) {
      throw error(unset.describe() + " (set it, or write ${" + unset.variables().get(0) + ":-default} to make it optional)");
    }
    if (value instanceof Map || value instanceof List) {
      throw error("expected a single value, got " + describe(value));
    }
    return value.toString().trim();
  }

  /**
   * For the keys that are allowed to be unset because leaving them empty turns one thing off (a
   * provider's endpoint or key, a bot's webhook or secret): an unset {@code ${VAR}} reads as empty
   * here, and {@link #unsetVariables()} says which variable to set.
   */
  public String stringIfSet(String fallback) {
    return value instanceof ConfigFiles.Unset ? "" : string(fallback);
  }

  /** The items of a list that are set, for optional lists such as a pool of keys. */
  public List<String> stringsIfSet() {
    if (value instanceof ConfigFiles.Unset) {
      return List.of();
    }
    if (!(value instanceof List)) {
      return strings();
    }
    List<String> out = new ArrayList<>();
    for (ConfigNode item : list()) {
      String s = item.stringIfSet("");
      if (!s.isEmpty()) {
        out.add(s);
      }
    }
    return out;
  }

  /** The environment variables this value (or, for a list, its items) needed and did not find. */
  public List<String> unsetVariables() {
    if (value instanceof ConfigFiles.Unset unset) {
      return unset.variables();
    }
    if (value instanceof List<?> items) {
      List<String> out = new ArrayList<>();
      for (Object item : items) {
        if (item instanceof ConfigFiles.Unset unset) {
          out.addAll(unset.variables());
        }
      }
      return out;
    }
    return List.of();
  }

  public String requiredString() {
    String s = string("");
    if (s.isEmpty()) {
      throw error("is required");
    }
    return s;
  }

  public long number(long fallback, long min, long max) {
    String s = string("");
    if (s.isEmpty()) {
      return fallback;
    }
    long n;
    try {
      n = Long.parseLong(s);
    } catch (NumberFormatException e) {
      throw error("expected a whole number, got '" + s + "'");
    }
    if (n < min || n > max) {
      throw error("must be between " + min + " and " + max + ", got " + n);
    }
    return n;
  }

  public double decimal(double fallback) {
    String s = string("");
    if (s.isEmpty()) {
      return fallback;
    }
    try {
      return Double.parseDouble(s);
    } catch (NumberFormatException e) {
      throw error("expected a number, got '" + s + "'");
    }
  }

  public int integer(int fallback, int min, int max) {
    return (int) number(fallback, min, max);
  }

  public boolean bool(boolean fallback) {
    String s = string("");
    if (s.isEmpty()) {
      return fallback;
    }
    return switch (s.toLowerCase()) {
      case "true", "yes", "on", "1" -> true;
      case "false", "no", "off", "0" -> false;
      default -> throw error("expected true or false, got '" + s + "'");
    };
  }

  /** Durations are written {@code 500ms}, {@code 30s}, {@code 5m}, {@code 1h}, {@code 1d}. */
  public Duration duration(Duration fallback) {
    String s = string("");
    if (s.isEmpty()) {
      return fallback;
    }
    return parseDuration(s).orElseThrow(() ->
        error("expected a duration such as 500ms, 30s, 5m or 1h, got '" + s + "'"));
  }

  public static java.util.Optional<Duration> parseDuration(String s) {
    Matcher m = DURATION.matcher(s.trim());
    if (!m.matches()) {
      return java.util.Optional.empty();
    }
    try {
      long n = Long.parseLong(m.group(1));
      return java.util.Optional.of(switch (m.group(2)) {
        case "ms" -> Duration.ofMillis(n);
        case "s" -> Duration.ofSeconds(n);
        case "m" -> Duration.ofMinutes(n);
        case "h" -> Duration.ofHours(n);
        default -> Duration.ofDays(n);
      });
    } catch (NumberFormatException | ArithmeticException tooLarge) {
      // more digits than a duration can hold is not a duration
      return java.util.Optional.empty();
    }
  }

  /** Sizes are written {@code 4mb}, {@code 512kb} or as a number of bytes. */
  public long size(long fallback) {
    String s = string("").toLowerCase();
    if (s.isEmpty()) {
      return fallback;
    }
    Matcher m = Pattern.compile("(\\d+)\\s*(b|kb|k|mb|m|gb|g)?").matcher(s);
    if (!m.matches()) {
      throw error("expected a size such as 512kb or 4mb, got '" + s + "'");
    }
    long n = Long.parseLong(m.group(1));
    String unit = m.group(2) == null ? "b" : m.group(2);
    return switch (unit.charAt(0)) {
      case 'k' -> n * 1024;
      case 'm' -> n * 1024 * 1024;
      case 'g' -> n * 1024 * 1024 * 1024;
      default -> n;
    };
  }

  public <E extends Enum<E>> E oneOf(Class<E> type, E fallback) {
    String s = string("");
    if (s.isEmpty()) {
      return fallback;
    }
    for (E e : type.getEnumConstants()) {
      if (e.name().equalsIgnoreCase(s.replace('-', '_'))) {
        return e;
      }
    }
    List<String> names = new ArrayList<>();
    for (E e : type.getEnumConstants()) {
      names.add(e.name().toLowerCase().replace('_', '-'));
    }
    throw error("expected one of " + String.join(", ", names) + ", got '" + s + "'");
  }

  /**
   * The value as plain YAML data (maps, lists, strings, numbers, booleans), for the keys whose
   * content is free-form (a webhook body, a platform-native message): typed getters would turn
   * its numbers into strings.
   */
  public Object raw() {
    return plain(value);
  }

  private Object plain(Object v) {
    if (v instanceof ConfigFiles.Unset unset) {
      throw error(unset.describe());
    }
    if (v instanceof Map<?, ?> map) {
      Map<String, Object> out = new LinkedHashMap<>();
      map.forEach((k, item) -> out.put(String.valueOf(k), plain(item)));
      return out;
    }
    if (v instanceof List<?> items) {
      List<Object> out = new ArrayList<>(items.size());
      items.forEach(item -> out.add(plain(item)));
      return out;
    }
    return v;
  }

  /** Keys of a mapping, in file order; used to reject keys nobody reads, which are usually typos. */
  public List<String> keys() {
    if (value instanceof Map<?, ?> map) {
      List<String> keys = new ArrayList<>();
      map.keySet().forEach(k -> keys.add(String.valueOf(k)));
      return keys;
    }
    return List.of();
  }

  public void allowOnly(String... known) {
    List<String> allowed = List.of(known);
    for (String key : keys()) {
      if (!allowed.contains(key)) {
        String where = path.isEmpty() ? key : path + "." + key;
        throw new ConfigError(file, where, "unknown key (known here: " + String.join(", ", allowed) + ")");
      }
    }
  }

  static String describe(Object v) {
    if (v instanceof ConfigFiles.Unset unset) {
      return "an unset variable (" + String.join(", ", unset.variables()) + ")";
    }
    if (v instanceof Map) {
      return "a mapping";
    }
    if (v instanceof List) {
      return "a list";
    }
    return "'" + v + "'";
  }

  static Map<String, Object> asMap(Object o) {
    Map<String, Object> m = new LinkedHashMap<>();
    if (o instanceof Map<?, ?> map) {
      map.forEach((k, v) -> m.put(String.valueOf(k), v));
    }
    return m;
  }
}
