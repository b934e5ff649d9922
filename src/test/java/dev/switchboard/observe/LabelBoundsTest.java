package dev.switchboard.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Label values on /metrics are the configured names or 'other', whatever clients send")
class LabelBoundsTest {

  /** A pass-through provider (any model name goes upstream), a listed model and a group. */
  private static final String MODELS = """
      providers:
        - name: "default"
          endpoint: "${MODEL_ENDPOINT}"
          auth: { type: "api_key", key: "${MODEL_API_KEY}" }
          models: ["*", "listed-model"]
      groups:
        - name: "chat"
          deployments:
            - { provider: "default", model: "grouped-model" }
      """;

  Vertx vertx;
  FakeUpstream upstream;
  TestGateway gateway;
  WebClient web;
  String token;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).file("model_provider.yaml", MODELS).start();
    web = WebClient.create(vertx);
    token = gateway.token("alice");
  }

  @AfterEach
  void stop() throws Exception {
    if (gateway != null) {
      gateway.close();
    }
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private void chat(String model) throws Exception {
    JsonObject body = new JsonObject().put("model", model)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hi")));
    int status = web.postAbs(gateway.url("/v1/chat/completions")).bearerTokenAuthentication(token)
        .sendJsonObject(body).await(20, TimeUnit.SECONDS).statusCode();
    assertEquals(200, status, "chat with model " + model);
  }

  private String scrape() throws Exception {
    return web.getAbs(gateway.url("/metrics")).send().await(10, TimeUnit.SECONDS).bodyAsString();
  }

  @Test
  @DisplayName("model names that clients make up share the 'other' series of every model meter")
  void clientModelNamesBecomeOther() throws Exception {
    for (int i = 1; i <= 50; i++) {
      chat("attacker-" + i);
    }
    String metrics = scrape();
    assertFalse(metrics.contains("attacker-"), "a client-chosen model name is a label value");
    assertTrue(metrics.contains("switchboard_model_tokens_total{model=\"other\",provider=\"default\",type=\"prompt\"} 50"),
        "tokens of made-up models count under other");
    assertTrue(metrics.contains("switchboard_model_requests_seconds_count{model=\"other\",outcome=\"ok\",provider=\"default\"} 50"),
        "requests of made-up models count under other");
  }

  @Test
  @DisplayName("models named in the configuration (listed by a provider or deployed in a group) keep their own series")
  void configuredModelsKeepTheirNames() throws Exception {
    chat("listed-model");
    chat("chat");
    String metrics = scrape();
    assertTrue(metrics.contains("switchboard_model_tokens_total{model=\"listed-model\",provider=\"default\",type=\"prompt\"} 1"),
        "listed model");
    assertTrue(metrics.contains("switchboard_model_tokens_total{model=\"grouped-model\",provider=\"default\",type=\"prompt\"} 1"),
        "model of a group's deployment");
    assertFalse(metrics.contains("model=\"other\""), "nothing was unconfigured");
  }

  @Test
  @DisplayName("HTTP methods outside the standard ones are counted as 'other'")
  void madeUpHttpMethodsBecomeOther() throws Exception {
    for (String method : new String[] {"ATTACK1", "ATTACK2", "ATTACK3"}) {
      web.requestAbs(HttpMethod.valueOf(method), gateway.url("/healthz")).send().await(10, TimeUnit.SECONDS);
    }
    String metrics = scrape();
    assertFalse(metrics.contains("ATTACK"), "a client-chosen method is a label value");
    assertTrue(metrics.lines().anyMatch(l -> l.startsWith("vertx_http_server_requests_total{")
            && l.contains("method=\"other\"") && (l.endsWith("} 3.0") || l.endsWith("} 3"))),
        "the three requests count under other:\n" + metrics.lines().filter(l -> l.startsWith("vertx_http_server_requests_total"))
            .collect(java.util.stream.Collectors.joining("\n")));
  }
}
