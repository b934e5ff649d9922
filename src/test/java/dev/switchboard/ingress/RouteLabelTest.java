package dev.switchboard.ingress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.ext.web.client.WebClient;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Unmatched requests share one route label, so that scanning for paths cannot grow the metrics without bound. */
@DisplayName("The route label of requests no route answers")
class RouteLabelTest {

  static Vertx vertx;
  static TestGateway gateway;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
    gateway = TestGateway.builder().start();
  }

  @AfterAll
  static void stop() {
    gateway.close();
    vertx.close().await();
  }

  private static int get(String path, boolean withToken) throws Exception {
    var request = WebClient.create(vertx).getAbs(gateway.url(path));
    if (withToken) {
      request.bearerTokenAuthentication(gateway.token("alice"));
    }
    return request.send().await(10, TimeUnit.SECONDS).statusCode();
  }

  /** route label → the status codes it was recorded with, from vertx_http_server_requests_total. */
  private static Set<String> routeLabels() throws Exception {
    String text = WebClient.create(vertx).getAbs(gateway.url("/metrics")).send().await(10, TimeUnit.SECONDS).bodyAsString();
    Set<String> labels = new TreeSet<>();
    Matcher m = Pattern.compile("(?m)^vertx_http_server_requests_total\\{([^}]*)\\}").matcher(text);
    while (m.find()) {
      Matcher route = Pattern.compile("route=\"([^\"]*)\"").matcher(m.group(1));
      Matcher code = Pattern.compile("code=\"([^\"]*)\"").matcher(m.group(1));
      labels.add((route.find() ? route.group(1) : "<none>") + " " + (code.find() ? code.group(1) : "?"));
    }
    return labels;
  }

  @Test
  @DisplayName("404s under /api/ and /v1/, a 401 there, and any other path are all route=\"unmatched\"")
  void oneLabel() throws Exception {
    assertEquals(404, get("/api/v1/no-such-thing", true));
    assertEquals(404, get("/v1/no-such-thing", true));
    assertEquals(401, get("/api/v1/no-such-thing", false));
    assertEquals(404, get("/some/random/path-" + System.nanoTime(), false));
    assertEquals(404, get("/", false));
    assertEquals(200, get("/healthz", false));
    Set<String> labels = routeLabels();
    assertTrue(labels.contains("unmatched 404"), labels.toString());
    assertTrue(labels.contains("unmatched 401"), labels.toString());
    assertTrue(labels.contains("/healthz 200"), labels.toString());
    for (String label : labels) {
      String route = label.substring(0, label.indexOf(' '));
      assertTrue(route.equals("unmatched") || (route.startsWith("/") && !route.endsWith("/") && !route.contains(">")),
          "unexpected route label '" + route + "' in " + labels);
    }
  }
}
