package dev.switchboard.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakeDingTalk;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Every metric the shipped dashboard, alert rules and docs name is one the gateway really exports:
 * a gateway whose every component has worked once (chat plain and streamed, a failed model call
 * and the fallback that answered it, a task pushed to DingTalk, a push DingTalk refuses, a memory
 * written and searched, a signed webhook that fires a rule) is scraped, and each name (and each
 * label a query matches on or groups by) is looked up in that scrape.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@DisplayName("The metrics the dashboard, the alerts and the docs name")
class DashboardMetricsIT {

  static final String DINGTALK_SECRET = "SECdashboard";
  static final String HOOK_SECRET = "ci-hook-secret";
  static final Path DASHBOARD = Path.of("conf/grafana/dashboards/switchboard.json");
  static final Path ALERTS = Path.of("conf/alerts.yml");
  static final Path DOCS = Path.of("docs");

  /** The shipped conversation rule, and one that pushes when the CI hook reports a failure. */
  static final String RULES = """
      rules:
        - name: "conversation"
          on: { message: { mentioned: true } }
          do:
            - agent: { reply: true }
        - name: "ci-failed"
          on: { webhook: "ci" }
          if: 'event.body.status == "failed"'
          do:
            - push: { channels: [{ type: "dingtalk", bot: "default" }], text: "build {{event.body.build}} failed" }
      """;

  /** Groups over the shipped provider, so that deployment states and a fallback are exported. */
  static final String GROUP = """

      groups:
        - name: "chat"
          deployments:
            - { provider: "default", model: "fake-model" }
          fallbacks: ["chat-backup"]
        - name: "chat-backup"
          deployments:
            - { provider: "default", model: "fake-backup" }
      """;

  /** {@code switchboard_} names in the docs that are not metrics: the PostgreSQL table of applied migrations. */
  static final Set<String> NOT_METRICS = Set.of("switchboard_migrations");

  Vertx vertx;
  FakeUpstream upstream;
  FakeDingTalk dingtalk;
  TestGateway gateway;
  WebClient web;
  String token;
  String scrape;
  Scrape parsed;

  @BeforeAll
  void everyComponentOnce() throws Exception {
    vertx = Vertx.vertx();
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    dingtalk = FakeDingTalk.start(vertx, DINGTALK_SECRET).await(10, TimeUnit.SECONDS);
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).dingtalk(dingtalk.webhook(), DINGTALK_SECRET)
        .env("CI_HOOK_SECRET", HOOK_SECRET).file("rules.yaml", RULES)
        .file("model_provider.yaml", Files.readString(Path.of("conf/model_provider.yaml")) + GROUP).start();
    web = WebClient.create(vertx);
    token = gateway.token("alice");
    awaitReady();

    expect(200, post("/v1/chat/completions", chat(false)));
    expect(200, post("/v1/chat/completions", chat(true)));
    // one upstream failure: the retry goes to the untried deployment of the fallback group, which answers
    upstream.respondWith(500, "{\"error\":{\"message\":\"boom\"}}").failTimes(1);
    expect(200, post("/v1/chat/completions", chat(false)));
    expect(400, post("/v1/chat/completions", new JsonObject().put("model", "chat")));

    JsonObject pushed = finished(expect(202, post("/api/v1/tasks", task("daily report")))
        .bodyAsJsonObject().getString("id"));
    assertEquals("delivered", pushed.getJsonArray("deliveries").getJsonObject(0).getString("status"), pushed.encode());
    dingtalk.answerOnce(310000, "keywords not in content");
    JsonObject refused = finished(expect(202, post("/api/v1/tasks", task("refused report")))
        .bodyAsJsonObject().getString("id"));
    assertEquals("failed", refused.getJsonArray("deliveries").getJsonObject(0).getString("status"), refused.encode());

    expect(201, post("/api/v1/memories", new JsonObject().put("content", "the weekly meeting is on Tuesday").put("scope", "user:alice")));
    expect(200, get("/api/v1/memories/search?q=meeting&scope=user:alice"));

    int before = dingtalk.pushes().size();
    expect(202, hook("{\"build\":\"#42\",\"status\":\"failed\"}"));
    long deadline = System.currentTimeMillis() + 15_000;
    while (dingtalk.pushes().size() == before) {
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError("the ci-failed rule did not push within 15 s");
      }
      Thread.sleep(25);
    }
    expect(404, get("/no/such/page"));
    expect(401, web.getAbs(gateway.url("/api/v1/tasks/x")).send());

    scrape = get("/metrics").await(10, TimeUnit.SECONDS).bodyAsString();
    parsed = Scrape.of(scrape);
    Files.createDirectories(Path.of("target"));
    Files.writeString(Path.of("target/dashboard-scrape.prom"), scrape);
  }

  @AfterAll
  void stop() throws Exception {
    if (gateway != null) {
      gateway.close();
    }
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  @DisplayName("every metric a dashboard panel or template variable queries is in the scrape")
  void dashboardMetricsExist() throws Exception {
    Dashboard dashboard = Dashboard.read(DASHBOARD);
    Map<String, Set<String>> missing = missing(dashboard.queries());
    assertTrue(missing.isEmpty(), "the dashboard queries metrics the gateway does not export: " + missing);
  }

  @Test
  @DisplayName("every label a dashboard or alert query matches on or groups by is one its metrics carry")
  void labelsExist() throws Exception {
    Map<String, String> queries = new TreeMap<>(Dashboard.read(DASHBOARD).queries());
    queries.putAll(AlertExprs.read(ALERTS));
    Map<String, Set<String>> unknown = new TreeMap<>();
    queries.forEach((where, expr) -> {
      Set<String> carried = new TreeSet<>();
      PromQl.matchedLabels(expr).forEach((metric, labels) -> {
        Set<String> own = PromQl.PROMETHEUS_OWN.contains(metric) ? Set.of("job", "instance") : parsed.labelsOf(metric);
        carried.addAll(own);
        labels.stream().filter(l -> !own.contains(l))
            .forEach(l -> unknown.computeIfAbsent(where, k -> new TreeSet<>()).add(metric + " has no label " + l));
      });
      PromQl.metricNames(expr).forEach(metric -> carried.addAll(parsed.labelsOf(metric)));
      PromQl.groupingLabels(expr).stream().filter(l -> !carried.contains(l))
          .forEach(l -> unknown.computeIfAbsent(where, k -> new TreeSet<>()).add("no metric of it has label " + l));
    });
    assertTrue(unknown.isEmpty(), "queries name labels the gateway does not export: " + unknown);
  }

  @Test
  @DisplayName("every dashboard panel query is PromQL that Prometheus parses (promtool check rules, variables filled in)")
  void dashboardQueriesParse() throws Exception {
    StringBuilder rules = new StringBuilder("groups:\n  - name: dashboard\n    rules:\n");
    int n = 0;
    for (Map.Entry<String, String> q : Dashboard.read(DASHBOARD).queries().entrySet()) {
      if (q.getKey().startsWith("variable ")) {
        continue; // label_values() is Grafana's, not PromQL
      }
      String expr = q.getValue().replace("$__rate_interval", "1m").replace("$__interval", "1m")
          .replace("$job", "switchboard").replace("$instance", ".*");
      rules.append("      - record: dashboard:query").append(n++).append("\n        expr: ")
          .append(io.vertx.core.json.Json.encode(expr)).append("\n"); // a JSON string is a YAML one
    }
    Path file = Path.of("target/dashboard-queries.rules.yml");
    Files.writeString(file, rules);
    PromTool.Result result = PromTool.run(null, "check", "rules", file.toString());
    assertEquals(0, result.exit(), result.output());
  }

  @Test
  @DisplayName("every metric an alert rule's expr uses is in the scrape")
  void alertMetricsExist() throws Exception {
    Map<String, String> exprs = AlertExprs.read(ALERTS);
    assertTrue(exprs.size() >= 5, "alerts found: " + exprs.keySet());
    Map<String, Set<String>> missing = missing(exprs);
    assertTrue(missing.isEmpty(), "alert rules use metrics the gateway does not export: " + missing);
  }

  @Test
  @DisplayName("every switchboard_ metric the docs mention is in the scrape (no docs folder: nothing to check)")
  void docsMetricsExist() throws Exception {
    Assumptions.assumeTrue(Files.isDirectory(DOCS), "no docs/ folder");
    Map<String, Set<String>> missing = new TreeMap<>();
    Pattern name = Pattern.compile("\\bswitchboard_[a-z0-9_]*[a-z0-9]");
    try (Stream<Path> files = Files.list(DOCS)) {
      for (Path doc : files.filter(p -> p.toString().endsWith(".md")).sorted().toList()) {
        Matcher m = name.matcher(Files.readString(doc));
        while (m.find()) {
          if (!NOT_METRICS.contains(m.group()) && !parsed.has(m.group())) {
            missing.computeIfAbsent(doc.toString(), k -> new TreeSet<>()).add(m.group());
          }
        }
      }
    }
    assertTrue(missing.isEmpty(), "the docs name metrics the gateway does not export: " + missing);
  }

  @Test
  @DisplayName("the scrape after every component has worked passes promtool check metrics without a lint message")
  void promtoolClean() throws Exception {
    PromTool.Result result = PromTool.run(scrape, "check", "metrics");
    assertEquals("", result.output(), "promtool check metrics");
    assertEquals(0, result.exit(), "promtool exit code");
  }

  /** Per query (by its place), the metric names it uses that the scrape does not have. */
  private Map<String, Set<String>> missing(Map<String, String> queries) {
    Map<String, Set<String>> missing = new TreeMap<>();
    queries.forEach((where, expr) -> {
      Set<String> names = PromQl.metricNames(expr);
      assertTrue(!names.isEmpty(), where + " names no metric: " + expr);
      for (String n : names) {
        if (!PromQl.PROMETHEUS_OWN.contains(n) && !parsed.has(n)) {
          missing.computeIfAbsent(where, k -> new TreeSet<>()).add(n);
        }
      }
    });
    return missing;
  }

  private void awaitReady() throws Exception {
    long deadline = System.currentTimeMillis() + 30_000;
    while (get("/readyz").await(10, TimeUnit.SECONDS).statusCode() != 200) {
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError("not ready within 30 s: " + get("/readyz").await(10, TimeUnit.SECONDS).bodyAsString());
      }
      Thread.sleep(50);
    }
  }

  /** Polls the task until it and each of its pushes ended (bounded: 30 s). */
  private JsonObject finished(String id) throws Exception {
    long deadline = System.currentTimeMillis() + 30_000;
    while (true) {
      JsonObject t = expect(200, get("/api/v1/tasks/" + id)).bodyAsJsonObject();
      JsonArray deliveries = t.getJsonArray("deliveries", new JsonArray());
      boolean pushing = deliveries.isEmpty()
          || deliveries.stream().anyMatch(d -> "pending".equals(((JsonObject) d).getString("status")));
      if (Set.of("succeeded", "failed").contains(t.getString("status")) && !pushing) {
        return t;
      }
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError("task did not finish within 30 s: " + t.encode());
      }
      Thread.sleep(25);
    }
  }

  private static JsonObject chat(boolean stream) {
    return new JsonObject().put("model", "chat").put("stream", stream)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hi")));
  }

  private static JsonObject task(String input) {
    return new JsonObject().put("input", input).put("model", "chat")
        .put("channels", new JsonArray().add(new JsonObject().put("type", "dingtalk").put("bot", "default")));
  }

  private Future<HttpResponse<Buffer>> hook(String body) throws Exception {
    long ts = System.currentTimeMillis() / 1000;
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(HOOK_SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    String sig = "sha256=" + HexFormat.of().formatHex(mac.doFinal((ts + "." + body).getBytes(StandardCharsets.UTF_8)));
    return web.postAbs(gateway.url("/webhooks/hooks/ci")).putHeader("content-type", "application/json")
        .putHeader("x-switchboard-timestamp", String.valueOf(ts)).putHeader("x-switchboard-signature", sig)
        .sendBuffer(Buffer.buffer(body));
  }

  private Future<HttpResponse<Buffer>> post(String path, JsonObject body) {
    return web.postAbs(gateway.url(path)).bearerTokenAuthentication(token).sendJsonObject(body);
  }

  private Future<HttpResponse<Buffer>> get(String path) {
    return web.getAbs(gateway.url(path)).bearerTokenAuthentication(token).send();
  }

  private static HttpResponse<Buffer> expect(int status, Future<HttpResponse<Buffer>> request) throws Exception {
    HttpResponse<Buffer> response = request.await(60, TimeUnit.SECONDS);
    assertEquals(status, response.statusCode(), response.bodyAsString());
    return response;
  }

  /** The sample names of a Prometheus text scrape ({@code x_bucket}, {@code x_count}, ... each one). */
  record Scrape(Map<String, Set<String>> labels) {
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_]\\w*)=\"(?:[^\"\\\\]|\\\\.)*\"");

    static Scrape of(String text) {
      Map<String, Set<String>> names = new TreeMap<>();
      for (String line : text.split("\n")) {
        if (!line.isBlank() && !line.startsWith("#")) {
          int end = 0;
          while (end < line.length() && line.charAt(end) != '{' && line.charAt(end) != ' ') {
            end++;
          }
          Set<String> labels = names.computeIfAbsent(line.substring(0, end), k -> new TreeSet<>());
          int close = line.lastIndexOf('}');
          if (end < line.length() && line.charAt(end) == '{' && close > end) {
            Matcher m = LABEL.matcher(line.substring(end + 1, close));
            while (m.find()) {
              labels.add(m.group(1));
            }
          }
        }
      }
      return new Scrape(names);
    }

    /** The label names the samples of {@code name} (or of its family's _count) carry, plus job and instance. */
    Set<String> labelsOf(String name) {
      Set<String> out = new TreeSet<>(Set.of("job", "instance"));
      out.addAll(labels.getOrDefault(name, Set.of()));
      out.addAll(labels.getOrDefault(name + "_count", Set.of()));
      return out;
    }

    /** A sample name, or a family (histogram or summary) whose _count is in the scrape. */
    boolean has(String name) {
      return labels.containsKey(name) || labels.containsKey(name + "_count");
    }
  }

  /** The exprs of conf/alerts.yml by alert name. */
  static final class AlertExprs {
    private AlertExprs() {
    }

    @SuppressWarnings("unchecked")
    static Map<String, String> read(Path file) throws Exception {
      Map<String, Object> yaml = (Map<String, Object>) new org.snakeyaml.engine.v2.api.Load(
          org.snakeyaml.engine.v2.api.LoadSettings.builder().build()).loadFromString(Files.readString(file));
      Map<String, String> exprs = new TreeMap<>();
      for (Object group : (List<Object>) yaml.get("groups")) {
        for (Object rule : (List<Object>) ((Map<String, Object>) group).get("rules")) {
          Map<String, Object> r = (Map<String, Object>) rule;
          exprs.put("alert " + r.getOrDefault("alert", r.get("record")), String.valueOf(r.get("expr")));
        }
      }
      return exprs;
    }
  }
}
