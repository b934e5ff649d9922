package dev.switchboard.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.config.ConfigError;
import dev.switchboard.config.ConfigNode;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class AgentSettingsTest {

  static Vertx fakes;
  static HttpServer server;
  static FakeUpstream upstream;

  @BeforeAll
  static void start() throws Exception {
    fakes = Vertx.vertx();
    upstream = FakeUpstream.start(fakes).await(10, TimeUnit.SECONDS);
    server = fakes.createHttpServer().requestHandler(req -> req.response().end("inside"))
        .listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() throws Exception {
    fakes.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void theAllowListFromSwitchboardYamlReachesTheRegistrysHttpFetch() throws Exception {
    try (TestGateway gateway = gateway("agent: { http_fetch: { allow: [\"127.0.0.1\"] } }\n")) {
      String answer = fetch(gateway).await(15, TimeUnit.SECONDS);
      assertTrue(answer.endsWith("\n\ninside"), answer);
    }
  }

  @Test
  void withoutTheSectionTheRegistrysHttpFetchRefusesAndSaysHow() throws Exception {
    try (TestGateway gateway = gateway("queue: { workers: 1 }\n")) {
      Exception e = assertThrows(Exception.class, () -> fetch(gateway).await(15, TimeUnit.SECONDS));
      assertTrue(e.getMessage().contains("list the hosts the agent may fetch under agent.http_fetch.allow"), e.getMessage());
    }
  }

  @Test
  void anEntryWithASchemeIsAConfigError() {
    ConfigNode agent = ConfigNode.of("switchboard.yaml", Map.of("http_fetch", Map.of("allow", List.of("https://example.com/"))));
    ConfigError e = assertThrows(ConfigError.class, () -> AgentSettings.from(agent));
    assertTrue(e.getMessage().contains("'https://example.com/' is not a host name"), e.getMessage());
  }

  @Test
  void anUnknownKeyIsAConfigError() {
    ConfigNode agent = ConfigNode.of("switchboard.yaml", Map.of("http_fetch", Map.of("allowed", List.of("example.com"))));
    assertThrows(ConfigError.class, () -> AgentSettings.from(agent));
  }

  @Test
  void namesWildcardsAndAddressesAreTaken() {
    ConfigNode agent = ConfigNode.of("switchboard.yaml",
        Map.of("http_fetch", Map.of("allow", List.of("api.example.com", "*.example.org", "10.0.0.5", "::1"))));
    assertEquals(List.of("api.example.com", "*.example.org", "10.0.0.5", "::1"), AgentSettings.from(agent).httpFetchAllow());
  }

  private static TestGateway gateway(String yaml) {
    return TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "fake-model")
        .file("switchboard.yaml", yaml).start();
  }

  private static io.vertx.core.Future<String> fetch(TestGateway gateway) {
    Skill skill = SkillRegistry.of(gateway.vertx()).get("http_fetch");
    return skill.run(new SkillCall(new JsonObject().put("url", "http://127.0.0.1:" + server.actualPort() + "/"), List.of(),
        "test", gateway.vertx()));
  }
}
