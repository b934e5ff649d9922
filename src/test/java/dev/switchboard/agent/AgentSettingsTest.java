package dev.switchboard.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.Settings;
import dev.switchboard.config.ConfigError;
import dev.switchboard.config.ConfigNode;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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

  @Test
  @DisplayName("without agent budgets: 8 steps, nine tenths of queue.task_timeout, no token limit")
  void budgetDefaults(@TempDir Path dir) throws Exception {
    Settings s = load(dir, "queue:\n  task_timeout: 100s\n");
    assertEquals(new AgentRunner.Budgets(8, Duration.ofSeconds(90), 0), s.agent().budgets(s.queue().taskTimeout()));
  }

  @Test
  @DisplayName("agent steps, wall and tokens are read from switchboard.yaml")
  void budgetsFromConfig(@TempDir Path dir) throws Exception {
    Settings s = load(dir, "agent:\n  steps: 3\n  wall: 45s\n  tokens: 5000\n");
    assertEquals(new AgentRunner.Budgets(3, Duration.ofSeconds(45), 5000), s.agent().budgets(s.queue().taskTimeout()));
  }

  @Test
  @DisplayName("a bad budget stops start-up naming its key")
  void badBudgets(@TempDir Path dir) throws Exception {
    assertBad(dir, "agent:\n  steps: 0\n", "agent.steps", "must be between 1 and 1000");
    assertBad(dir, "agent:\n  steps: many\n", "agent.steps", "expected a whole number");
    assertBad(dir, "agent:\n  wall: soon\n", "agent.wall", "expected a duration");
    assertBad(dir, "agent:\n  wall: 0s\n", "agent.wall", "must be a positive duration");
    assertBad(dir, "agent:\n  tokens: -1\n", "agent.tokens", "must be between 0");
    assertBad(dir, "queue:\n  task_timeout: 60s\nagent:\n  wall: 60s\n", "agent.wall", "must be shorter than queue.task_timeout (60s)");
    assertBad(dir, "agent:\n  budget: 3\n", "agent.budget", "unknown key");
  }

  private static void assertBad(Path dir, String yaml, String key, String says) throws Exception {
    ConfigError e = assertThrows(ConfigError.class, () -> load(dir, yaml));
    assertEquals(key, e.key(), e.getMessage());
    assertTrue(e.getMessage().contains(says), e.getMessage());
  }

  private static Settings load(Path dir, String switchboardYaml) throws Exception {
    for (String name : new String[] {"model_provider.yaml", "channels.yaml"}) {
      Files.copy(Path.of("conf", name), dir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
    }
    Files.writeString(dir.resolve("switchboard.yaml"), switchboardYaml);
    return Settings.load(dir, name -> null);
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
