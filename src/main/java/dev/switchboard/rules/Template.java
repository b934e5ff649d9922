package dev.switchboard.rules;

import com.samskivert.mustache.BasicCollector;
import com.samskivert.mustache.Mustache;
import com.samskivert.mustache.MustacheException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A Mustache template over {@code {event, results}}. Logic-less by construction: only maps and
 * lists are looked into (no Java method or field is ever called from a template), there are no
 * partials, and nothing is HTML-escaped because the texts go to chats, not to web pages. A map or
 * list put in a text is written as JSON.
 */
final class Template {

  static final int MAX_LENGTH = 16_384;

  private static final Mustache.Compiler COMPILER = Mustache.compiler()
      .escapeHTML(false)
      // a key that is not there (or null) reads as empty; nullValue would make a missing one an error
      .defaultValue("")
      .withCollector(new BasicCollector() {
        @Override
        public <K, V> Map<K, V> createFetcherCache() {
          return new ConcurrentHashMap<>();
        }
      })
      .withFormatter(value -> value instanceof Map<?, ?> || value instanceof List<?>
          ? String.valueOf(Plain.json(unwrapNulls(value)))
          : value instanceof dev.cel.common.values.NullValue ? "" : String.valueOf(value));

  private final String source;
  private final com.samskivert.mustache.Template compiled;

  private Template(String source, com.samskivert.mustache.Template compiled) {
    this.source = source;
    this.compiled = compiled;
  }

  static Template of(String source) {
    if (source.length() > MAX_LENGTH) {
      throw new IllegalArgumentException("template longer than " + MAX_LENGTH + " characters");
    }
    try {
      return new Template(source, COMPILER.compile(source));
    } catch (MustacheException e) {
      throw new IllegalArgumentException("template: " + e.getMessage());
    }
  }

  String source() {
    return source;
  }

  String render(Map<String, Object> context) {
    try {
      return compiled.execute(context);
    } catch (MustacheException e) {
      throw new IllegalStateException("template '" + source + "': " + e.getMessage());
    }
  }

  /** Free-form JSON (a webhook body, a native message) whose strings are templates, compiled once. */
  static Object compileDeep(Object raw) {
    if (raw instanceof String s) {
      return s.contains("{{") ? of(s) : s;
    }
    if (raw instanceof Map<?, ?> m) {
      Map<String, Object> out = new LinkedHashMap<>();
      m.forEach((k, v) -> out.put(String.valueOf(k), compileDeep(v)));
      return out;
    }
    if (raw instanceof List<?> l) {
      List<Object> out = new ArrayList<>();
      l.forEach(v -> out.add(compileDeep(v)));
      return out;
    }
    return Plain.json(raw);
  }

  /** The JSON that {@link #compileDeep} stands for, its templates rendered. */
  static Object renderDeep(Object compiled, Map<String, Object> context) {
    if (compiled instanceof Template t) {
      return t.render(context);
    }
    if (compiled instanceof Map<?, ?> m) {
      JsonObject out = new JsonObject();
      m.forEach((k, v) -> out.put(String.valueOf(k), renderDeep(v, context)));
      return out;
    }
    if (compiled instanceof List<?> l) {
      JsonArray out = new JsonArray();
      l.forEach(v -> out.add(renderDeep(v, context)));
      return out;
    }
    return compiled;
  }

  private static Object unwrapNulls(Object v) {
    if (v instanceof dev.cel.common.values.NullValue) {
      return null;
    }
    if (v instanceof Map<?, ?> m) {
      Map<String, Object> out = new LinkedHashMap<>();
      m.forEach((k, item) -> out.put(String.valueOf(k), unwrapNulls(item)));
      return out;
    }
    if (v instanceof List<?> l) {
      List<Object> out = new ArrayList<>();
      l.forEach(item -> out.add(unwrapNulls(item)));
      return out;
    }
    return v;
  }
}
