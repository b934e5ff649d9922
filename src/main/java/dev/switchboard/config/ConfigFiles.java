package dev.switchboard.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;

/**
 * Reads the YAML files under the configuration directory. Substitution happens on parsed string
 * values rather than on the raw text, so a secret containing {@code #} or {@code :} cannot change
 * the structure of the file.
 */
public final class ConfigFiles {

  private static final Pattern VAR = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?}");

  private final Path dir;
  private final Function<String, String> env;

  public ConfigFiles(Path dir, Function<String, String> env) {
    this.dir = dir;
    this.env = env;
  }

  public Path dir() {
    return dir;
  }

  /** The root of {@code name}; a missing optional file reads as empty, a missing required one fails. */
  public ConfigNode load(String name, boolean required) {
    return load(name, required, true);
  }

  /** The file as written, variables not substituted: to tell an operator which variable to set. */
  public ConfigNode loadRaw(String name) {
    return load(name, false, false);
  }

  private ConfigNode load(String name, boolean required, boolean substitute) {
    Path file = dir.resolve(name);
    String label = displayName(file);
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      text = builtIn(name);
      if (text == null) {
        if (required) {
          throw new ConfigError(label, "", "file not found (set SWITCHBOARD_CONF_DIR to the folder that holds it)");
        }
        return ConfigNode.empty(label);
      }
      label = name + " (built-in copy; " + label + " not found)";
    } catch (IOException e) {
      throw new ConfigError(label, "", "cannot read: " + e.getMessage());
    }
    Object parsed;
    try {
      parsed = new Load(LoadSettings.builder().setLabel(label).build()).loadFromString(text);
    } catch (MarkedYamlEngineException e) {
      String where = e.getProblemMark().map(m -> "line " + (m.getLine() + 1) + ", column " + (m.getColumn() + 1)).orElse("");
      throw new ConfigError(label, where, "invalid YAML: " + e.getProblem());
    } catch (YamlEngineException e) {
      throw new ConfigError(label, "", "invalid YAML: " + e.getMessage().replace('\n', ' '));
    }
    if (parsed != null && !(parsed instanceof Map)) {
      throw new ConfigError(label, "", "expected a mapping at the top of the file");
    }
    return new ConfigNode(label, "", substitute ? substitute(parsed, label, "") : parsed);
  }

  /** The copy of a shipped file inside the jar, so the jar runs from any folder. */
  private static String builtIn(String name) {
    try (var in = ConfigFiles.class.getResourceAsStream("/conf/" + name)) {
      return in == null ? null : new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return null;
    }
  }

  private Object substitute(Object value, String label, String path) {
    if (value instanceof String s) {
      return expand(s, label, path);
    }
    if (value instanceof Map<?, ?> map) {
      Map<String, Object> out = new LinkedHashMap<>();
      map.forEach((k, v) -> out.put(String.valueOf(k), substitute(v, label, path.isEmpty() ? String.valueOf(k) : path + "." + k)));
      return out;
    }
    if (value instanceof List<?> list) {
      List<Object> out = new ArrayList<>(list.size());
      for (int i = 0; i < list.size(); i++) {
        out.add(substitute(list.get(i), label, path + "[" + i + "]"));
      }
      return out;
    }
    return value;
  }

  /**
   * {@code ${VAR:-d}} is d when VAR is unset or empty. {@code ${VAR}} with VAR unset or empty is
   * not a value: it becomes an {@link Unset} that names the variable, and reading it as a setting
   * fails start-up, except where a key is documented as optional (a bot's or provider's
   * credentials, which turn that one off instead).
   */
  Object expand(String s, String label, String path) {
    if (s.indexOf("${") < 0) {
      return s;
    }
    // judged on the text as written: a value substituted in may itself contain "${"
    if (VAR.matcher(s).replaceAll("").contains("${")) {
      throw new ConfigError(label, path, "malformed variable reference in '" + s + "' (use ${NAME} or ${NAME:-default})");
    }
    Matcher m = VAR.matcher(s);
    StringBuilder out = new StringBuilder();
    List<String> unset = new ArrayList<>();
    while (m.find()) {
      String v = env.apply(m.group(1));
      if (v == null || v.isEmpty()) {
        if (m.group(2) == null) {
          unset.add(m.group(1));
        }
        v = m.group(2) == null ? "" : m.group(2);
      }
      m.appendReplacement(out, Matcher.quoteReplacement(v));
    }
    m.appendTail(out);
    return unset.isEmpty() ? out.toString() : new Unset(out.toString(), List.copyOf(unset));
  }

  /** A value that needed environment variables nobody set: what it would read, and which variables. */
  record Unset(String partial, List<String> variables) {
    String describe() {
      return variables.size() == 1
          ? "environment variable " + variables.get(0) + " is not set"
          : "environment variables " + String.join(", ", variables) + " are not set";
    }
  }

  private Path displayBase() {
    return Path.of("").toAbsolutePath();
  }

  private String displayName(Path file) {
    Path abs = file.toAbsolutePath().normalize();
    Path base = displayBase();
    return abs.startsWith(base) ? base.relativize(abs).toString() : abs.toString();
  }
}
