package dev.switchboard.rules;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Events as plain Java data for CEL and Mustache: nested maps and lists, whole numbers as
 * {@code Long} and others as {@code Double} (CEL knows no {@code Integer}), and JSON null as CEL's
 * null, so that {@code event.x == null} works on a key that is there with no value.
 */
final class Plain {

  private Plain() {
  }

  static Map<String, Object> of(JsonObject json) {
    Map<String, Object> out = new LinkedHashMap<>();
    json.forEach(e -> out.put(e.getKey(), value(e.getValue())));
    return out;
  }

  static Object value(Object v) {
    if (v == null) {
      return dev.cel.common.values.NullValue.NULL_VALUE;
    }
    if (v instanceof JsonObject o) {
      return of(o);
    }
    if (v instanceof Map<?, ?> m) {
      return of(new JsonObject(castMap(m)));
    }
    if (v instanceof JsonArray a) {
      List<Object> out = new ArrayList<>(a.size());
      a.forEach(item -> out.add(value(item)));
      return out;
    }
    if (v instanceof List<?> l) {
      return value(new JsonArray(new ArrayList<>(l)));
    }
    if (v instanceof Integer || v instanceof Short || v instanceof Byte) {
      return ((Number) v).longValue();
    }
    if (v instanceof Float || v instanceof java.math.BigDecimal) {
      return ((Number) v).doubleValue();
    }
    if (v instanceof java.math.BigInteger b) {
      return b.bitLength() < 64 ? b.longValue() : b.doubleValue();
    }
    return v;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> castMap(Map<?, ?> m) {
    Map<String, Object> out = new LinkedHashMap<>();
    m.forEach((k, v) -> out.put(String.valueOf(k), v));
    return out;
  }

  /** YAML data (from {@code ConfigNode.raw()}) as JSON. */
  static Object json(Object v) {
    if (v instanceof Map<?, ?> m) {
      JsonObject o = new JsonObject();
      m.forEach((k, item) -> o.put(String.valueOf(k), json(item)));
      return o;
    }
    if (v instanceof List<?> l) {
      JsonArray a = new JsonArray();
      l.forEach(item -> a.add(json(item)));
      return a;
    }
    if (v instanceof java.math.BigInteger b) {
      return b.bitLength() < 64 ? (Object) b.longValue() : b.toString();
    }
    return v;
  }
}
