package dev.switchboard.observe;

import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The metric names a PromQL expression (or a Grafana query over one) selects: what is left once
 * strings, label matchers, ranges, grouping clauses, Grafana variables, function names and
 * keywords are taken out. Not a parser; enough for the queries we ship, and tested on their shapes.
 */
final class PromQl {

  /** Series Prometheus makes itself for every target; the gateway does not export them. */
  static final Set<String> PROMETHEUS_OWN = Set.of("up", "scrape_duration_seconds", "scrape_samples_scraped");

  private static final Set<String> KEYWORDS = Set.of("and", "or", "unless", "by", "without", "on", "ignoring",
      "group_left", "group_right", "bool", "offset", "inf", "nan", "atan2");

  private static final Pattern STRINGS = Pattern.compile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`");
  private static final Pattern LABEL_VALUES = Pattern.compile("label_values\\(\\s*([^,()]*?)\\s*(?:,\\s*[a-zA-Z_]\\w*\\s*)?\\)");
  private static final Pattern MATCHERS = Pattern.compile("\\{[^{}]*}");
  private static final Pattern RANGES = Pattern.compile("\\[[^\\]]*]");
  private static final Pattern GROUPING = Pattern.compile("\\b(?:by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)");
  private static final Pattern VARIABLES = Pattern.compile("\\$\\{[^}]*}|\\$\\w+|\\[\\[\\w+]]");
  private static final Pattern NAMES = Pattern.compile("(?<![\\w:.])[a-zA-Z_:][\\w:]*");

  private static final Pattern SELECTOR = Pattern.compile("(?<![\\w:.])([a-zA-Z_:][\\w:]*)\\s*\\{([^{}]*)}");
  private static final Pattern MATCHER_LABEL = Pattern.compile("([a-zA-Z_]\\w*)\\s*(?:=~|!~|!=|=)");
  private static final Pattern GROUPING_LABELS = Pattern.compile("\\b(?:by|without|on|ignoring|group_left|group_right)\\s*\\(([^)]*)\\)");

  private PromQl() {
  }

  /** The label names each selector of {@code expr} matches on, by metric name. */
  static java.util.Map<String, Set<String>> matchedLabels(String expr) {
    String s = STRINGS.matcher(expr).replaceAll("\"\"");
    java.util.Map<String, Set<String>> out = new java.util.TreeMap<>();
    Matcher m = SELECTOR.matcher(s);
    while (m.find()) {
      Set<String> labels = out.computeIfAbsent(m.group(1), k -> new TreeSet<>());
      Matcher l = MATCHER_LABEL.matcher(m.group(2));
      while (l.find()) {
        labels.add(l.group(1));
      }
    }
    return out;
  }

  /** The label names of every by, without, on, ignoring and group_x clause of {@code expr}. */
  static Set<String> groupingLabels(String expr) {
    String s = STRINGS.matcher(expr).replaceAll("\"\"");
    Set<String> out = new TreeSet<>();
    Matcher m = GROUPING_LABELS.matcher(s);
    while (m.find()) {
      for (String label : m.group(1).split(",")) {
        if (!label.isBlank()) {
          out.add(label.trim());
        }
      }
    }
    return out;
  }

  static Set<String> metricNames(String expr) {
    String s = STRINGS.matcher(expr).replaceAll(" ");
    // a Grafana variable query names the metric first and then the label whose values it lists
    s = LABEL_VALUES.matcher(s).replaceAll(m -> " " + Matcher.quoteReplacement(m.group(1)) + " ");
    s = VARIABLES.matcher(s).replaceAll(" ");
    s = MATCHERS.matcher(s).replaceAll(" ");
    s = RANGES.matcher(s).replaceAll(" ");
    s = GROUPING.matcher(s).replaceAll(" ");
    Set<String> names = new TreeSet<>();
    Matcher m = NAMES.matcher(s);
    while (m.find()) {
      String name = m.group();
      int next = m.end();
      while (next < s.length() && Character.isWhitespace(s.charAt(next))) {
        next++;
      }
      boolean function = next < s.length() && s.charAt(next) == '(';
      if (!function && !KEYWORDS.contains(name.toLowerCase())) {
        names.add(name);
      }
    }
    return names;
  }
}
