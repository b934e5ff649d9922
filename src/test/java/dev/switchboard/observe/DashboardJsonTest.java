package dev.switchboard.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/**
 * The shipped Grafana dashboard as a file Grafana loads as it is: one data source, named by the
 * uid the provisioning gives it, queries everywhere, the three rows, and the compose mounts that
 * put the files where the provisioning looks. (Which metrics the queries name: DashboardMetricsIT.)
 */
@DisplayName("The Grafana dashboard conf/grafana/dashboards/switchboard.json")
class DashboardJsonTest {

  static final Path DATASOURCES = Path.of("conf/grafana/provisioning/datasources/prometheus.yml");
  static final Path PROVIDERS = Path.of("conf/grafana/provisioning/dashboards/switchboard.yml");
  static final Path COMPOSE = Path.of("docker-compose.yml");
  /** Variables Grafana defines itself. */
  static final Set<String> BUILTIN = Set.of("__rate_interval", "__interval", "__range", "__interval_ms", "__range_s");

  Dashboard dashboard;
  String uid;

  @BeforeEach
  void read() throws Exception {
    dashboard = Dashboard.read(DashboardMetricsIT.DASHBOARD);
    List<Object> sources = list(yaml(DATASOURCES).get("datasources"));
    assertEquals(1, sources.size(), "one provisioned data source");
    uid = String.valueOf(map(sources.get(0)).get("uid"));
  }

  @Test
  @DisplayName("is provisioned with a Prometheus data source at http://prometheus:9090 whose uid is fixed")
  void dataSource() throws Exception {
    Map<String, Object> source = map(list(yaml(DATASOURCES).get("datasources")).get(0));
    assertEquals("prometheus", source.get("type"));
    assertEquals("http://prometheus:9090", source.get("url"));
    assertEquals("switchboard-prometheus", uid);
  }

  @Test
  @DisplayName("has a fixed uid, a title and panels")
  void identity() {
    assertEquals("switchboard", dashboard.json().getString("uid"));
    assertFalse(dashboard.json().getString("title", "").isBlank());
    assertTrue(dashboard.panels().size() > 3);
  }

  @Test
  @DisplayName("names the provisioned data source by uid on every panel, target and variable")
  void everyDatasourceIsTheProvisionedOne() {
    List<String> wrong = new ArrayList<>();
    for (JsonObject panel : dashboard.panels()) {
      if (Dashboard.isRow(panel)) {
        continue;
      }
      checkSource(panel.getValue("datasource"), "panel " + panel.getValue("id"), wrong);
      for (Object t : panel.getJsonArray("targets", new JsonArray())) {
        checkSource(((JsonObject) t).getValue("datasource"), "panel " + panel.getValue("id") + " target", wrong);
      }
    }
    for (JsonObject v : dashboard.variables()) {
      if ("query".equals(v.getString("type"))) {
        checkSource(v.getValue("datasource"), "variable " + v.getString("name"), wrong);
      }
    }
    assertTrue(wrong.isEmpty(), "not the provisioned data source (uid " + uid + "): " + wrong);
  }

  private void checkSource(Object source, String where, List<String> wrong) {
    if (!(source instanceof JsonObject ds) || !uid.equals(ds.getString("uid")) || !"prometheus".equals(ds.getString("type"))) {
      wrong.add(where + ": " + source);
    }
  }

  @Test
  @DisplayName("gives every panel at least one target, each with an expr and a refId of its own")
  void everyPanelQueries() {
    List<String> wrong = new ArrayList<>();
    for (JsonObject panel : dashboard.panels()) {
      JsonArray targets = panel.getJsonArray("targets", new JsonArray());
      if (Dashboard.isRow(panel)) {
        continue;
      }
      if (targets.isEmpty()) {
        wrong.add("panel " + panel.getValue("id") + " has no target");
      }
      Set<String> refs = new HashSet<>();
      for (Object t : targets) {
        JsonObject target = (JsonObject) t;
        if (target.getString("expr", "").isBlank()) {
          wrong.add("panel " + panel.getValue("id") + " target " + target.getString("refId") + " has no expr");
        }
        if (!refs.add(target.getString("refId", ""))) {
          wrong.add("panel " + panel.getValue("id") + " repeats refId '" + target.getString("refId") + "'");
        }
      }
    }
    assertTrue(wrong.isEmpty(), String.join("; ", wrong));
  }

  @Test
  @DisplayName("numbers its panels and rows with ids used once each")
  void uniqueIds() {
    Set<Integer> seen = new HashSet<>();
    List<Object> repeated = new ArrayList<>();
    for (JsonObject panel : dashboard.panels()) {
      Object id = panel.getValue("id");
      if (!(id instanceof Integer n) || !seen.add(n)) {
        repeated.add(id);
      }
    }
    assertTrue(repeated.isEmpty(), "ids missing or used twice: " + repeated);
  }

  @Test
  @DisplayName("has the rows Infrastructure, Service and Business, in that order, each with panels")
  void threeRows() {
    Map<String, Integer> rows = new LinkedHashMap<>();
    String current = null;
    for (JsonObject panel : dashboard.panels()) {
      if (Dashboard.isRow(panel)) {
        current = panel.getString("title");
        rows.put(current, 0);
      } else {
        assertTrue(current != null, "panel " + panel.getValue("id") + " comes before the first row");
        rows.merge(current, 1, Integer::sum);
      }
    }
    assertEquals(List.of("Infrastructure", "Service", "Business"), List.copyOf(rows.keySet()));
    rows.forEach((row, panels) -> assertTrue(panels > 0, "row " + row + " has no panels"));
  }

  @Test
  @DisplayName("lays its panels out on the 24-column grid without overlaps")
  void grid() {
    List<JsonObject> boxes = dashboard.panels().stream().map(p -> p.getJsonObject("gridPos")).toList();
    for (int i = 0; i < boxes.size(); i++) {
      JsonObject a = boxes.get(i);
      assertTrue(a.getInteger("x") >= 0 && a.getInteger("x") + a.getInteger("w") <= 24, "panel " + i + " off the grid: " + a);
      for (int j = i + 1; j < boxes.size(); j++) {
        JsonObject b = boxes.get(j);
        boolean apart = a.getInteger("x") + a.getInteger("w") <= b.getInteger("x") || b.getInteger("x") + b.getInteger("w") <= a.getInteger("x")
            || a.getInteger("y") + a.getInteger("h") <= b.getInteger("y") || b.getInteger("y") + b.getInteger("h") <= a.getInteger("y");
        assertTrue(apart, "panels overlap: " + a + " and " + b);
      }
    }
  }

  @Test
  @DisplayName("uses only variables it defines (job, instance) or that Grafana defines")
  void variablesDefined() {
    Set<String> defined = new HashSet<>(BUILTIN);
    dashboard.variables().forEach(v -> defined.add(v.getString("name")));
    assertTrue(defined.containsAll(Set.of("job", "instance")), "variables: " + defined);
    Pattern use = Pattern.compile("\\$\\{?(\\w+)");
    Set<String> unknown = new HashSet<>();
    dashboard.queries().values().forEach(q -> {
      Matcher m = use.matcher(q);
      while (m.find()) {
        if (!defined.contains(m.group(1))) {
          unknown.add(m.group(1));
        }
      }
    });
    assertTrue(unknown.isEmpty(), "undefined variables: " + unknown);
  }

  @Test
  @DisplayName("draws the backlog line of 100 against what SwitchboardTaskBacklog compares: the waiting tasks of all priorities together")
  void backlogLineOnTheAlertsQuantity() throws Exception {
    String alert = DashboardMetricsIT.AlertExprs.read(DashboardMetricsIT.ALERTS).get("alert SwitchboardTaskBacklog");
    assertTrue(alert.contains("sum without (priority) (switchboard_queue_depth)") && alert.endsWith("> 100"), alert);
    JsonObject panel = dashboard.panels().stream().filter(p -> "Queue depth per priority".equals(p.getString("title")))
        .findFirst().orElseThrow();
    JsonArray steps = panel.getJsonObject("fieldConfig").getJsonObject("defaults").getJsonObject("thresholds").getJsonArray("steps");
    assertEquals(100, steps.getJsonObject(steps.size() - 1).getInteger("value"));
    // 60 normal and 60 low fire the alert: a line of 100 over the priorities one by one would show neither crossing it
    List<String> exprs = panel.getJsonArray("targets").stream().map(t -> ((JsonObject) t).getString("expr")).toList();
    assertTrue(exprs.stream().anyMatch(e -> e.replace(" ", "").contains("sumwithout(priority)(switchboard_queue_depth{")),
        "no query of the panel sums the priorities: " + exprs);
  }

  @Test
  @DisplayName("is where the provisioning looks once docker-compose.yml mounts conf/grafana, on loopback")
  void composeMounts() throws Exception {
    Map<String, Object> provider = map(list(yaml(PROVIDERS).get("providers")).get(0));
    assertEquals("file", provider.get("type"));
    String path = String.valueOf(((Map<?, ?>) provider.get("options")).get("path"));
    Map<String, Object> grafana = map(map(yaml(COMPOSE).get("services")).get("grafana"));
    List<String> volumes = list(grafana.get("volumes")).stream().map(String::valueOf).toList();
    assertTrue(volumes.contains("./conf/grafana/provisioning:/etc/grafana/provisioning:ro"), "volumes: " + volumes);
    assertTrue(volumes.contains("./conf/grafana/dashboards:" + path + ":ro"), "dashboards mounted at " + path + ": " + volumes);
    assertEquals(List.of("127.0.0.1:3000:3000"), grafana.get("ports"));
    assertTrue(String.valueOf(grafana.get("image")).startsWith("grafana/grafana"));
    assertTrue(Files.exists(DashboardMetricsIT.DASHBOARD));
  }

  private static Map<String, Object> yaml(Path file) throws Exception {
    return map(new Load(LoadSettings.builder().build()).loadFromString(Files.readString(file)));
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Object o) {
    return (Map<String, Object>) o;
  }

  @SuppressWarnings("unchecked")
  private static List<Object> list(Object o) {
    return (List<Object>) o;
  }
}
