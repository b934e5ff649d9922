package dev.switchboard.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** {@code security.metrics_token: true} puts {@code /metrics} behind a token that may read admin routes. */
@DisplayName("/metrics behind a token (security.metrics_token)")
class MetricsTokenTest {

  static Vertx vertx;
  static TestGateway gateway;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    String shipped = Files.readString(Path.of("conf", "switchboard.yaml"));
    String line = "  metrics_token: false";
    assertTrue(shipped.contains(line), "the shipped switchboard.yaml leaves /metrics open");
    gateway = TestGateway.builder().file("switchboard.yaml", shipped.replace(line, "  metrics_token: true")).start();
  }

  @AfterAll
  static void stop() throws Exception {
    gateway.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  static HttpResponse<Buffer> scrape(String role) throws Exception {
    HttpRequest<Buffer> r = WebClient.create(vertx).getAbs(gateway.url("/metrics"));
    if (role != null) {
      r.bearerTokenAuthentication(Tokens.issue(Tokens.auth(vertx, new JwtSecret(TestGateway.SECRET, "test")), role + "-scraper",
          Duration.ofHours(1), new JsonObject().put("roles", new JsonArray().add(role))));
    }
    return r.send().await(10, TimeUnit.SECONDS);
  }

  @Test
  @DisplayName("without a token: 401")
  void noToken() throws Exception {
    assertEquals(401, scrape(null).statusCode());
  }

  @Test
  @DisplayName("a client token: 403")
  void client() throws Exception {
    HttpResponse<Buffer> r = scrape("client");
    assertEquals(403, r.statusCode(), r.bodyAsString());
    assertTrue(r.bodyAsString().contains("may not read admin routes"), r.bodyAsString());
  }

  @Test
  @DisplayName("an operator token: the Prometheus text")
  void operator() throws Exception {
    HttpResponse<Buffer> r = scrape("operator");
    assertEquals(200, r.statusCode(), r.bodyAsString());
    assertTrue(r.bodyAsString().contains("# TYPE"), r.bodyAsString());
  }
}
