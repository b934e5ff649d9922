package dev.switchboard.observe;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The shipped Grafana dashboard, read as its JSON: panels in order (rows' nested panels too) and queries. */
record Dashboard(JsonObject json) {

  static Dashboard read(Path file) throws IOException {
    return new Dashboard(new JsonObject(Files.readString(file)));
  }

  /** Every panel, rows included, in the order Grafana lays them out; a collapsed row's panels follow it. */
  List<JsonObject> panels() {
    List<JsonObject> out = new ArrayList<>();
    for (Object p : json.getJsonArray("panels", new JsonArray())) {
      JsonObject panel = (JsonObject) p;
      out.add(panel);
      for (Object nested : panel.getJsonArray("panels", new JsonArray())) {
        out.add((JsonObject) nested);
      }
    }
    return out;
  }

  static boolean isRow(JsonObject panel) {
    return "row".equals(panel.getString("type"));
  }

  List<JsonObject> variables() {
    List<JsonObject> out = new ArrayList<>();
    for (Object v : json.getJsonObject("templating", new JsonObject()).getJsonArray("list", new JsonArray())) {
      out.add((JsonObject) v);
    }
    return out;
  }

  /** A query variable's query: a string, or {@code {"query": ...}} in newer Grafana. */
  static String variableQuery(JsonObject variable) {
    Object q = variable.getValue("query");
    return q instanceof JsonObject o ? o.getString("query", "") : q == null ? "" : q.toString();
  }

  /** Every query by where it is ("panel 12 'Request rate' A", "variable instance"). */
  Map<String, String> queries() {
    Map<String, String> out = new LinkedHashMap<>();
    for (JsonObject panel : panels()) {
      for (Object t : panel.getJsonArray("targets", new JsonArray())) {
        JsonObject target = (JsonObject) t;
        out.put("panel " + panel.getValue("id") + " '" + panel.getString("title") + "' " + target.getString("refId"),
            target.getString("expr", ""));
      }
    }
    for (JsonObject v : variables()) {
      if ("query".equals(v.getString("type"))) {
        out.put("variable " + v.getString("name"), variableQuery(v));
      }
    }
    return out;
  }
}
