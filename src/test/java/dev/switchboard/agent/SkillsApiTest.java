package dev.switchboard.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class SkillsApiTest {

  static Vertx client;
  static FakeUpstream upstream;
  static TestGateway gateway;

  @BeforeAll
  static void start() throws Exception {
    client = Vertx.vertx();
    upstream = FakeUpstream.start(client).await(10, TimeUnit.SECONDS);
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "fake-model").start();
  }

  @AfterAll
  static void stop() throws Exception {
    gateway.close();
    client.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void thePluginSkillFromMetaInfServicesIsListedAsAPlugIn() throws Exception {
    JsonArray data = skills().getJsonArray("data");
    JsonObject weather = find(data, "weather");
    assertEquals("plug-in", weather.getString("source"));
    assertEquals(false, weather.getBoolean("blocking"));
    assertEquals(new WeatherPluginSkill().parameters(), weather.getJsonObject("parameters"));
    assertTrue(weather.getString("description").startsWith("Today's weather"));
  }

  @Test
  void theBuiltInsAreListedAndThePluginThatReusedANameIsNot() throws Exception {
    JsonArray data = skills().getJsonArray("data");
    List<String> builtIns = data.stream().map(JsonObject.class::cast)
        .filter(s -> "built-in".equals(s.getString("source"))).map(s -> s.getString("name")).toList();
    assertEquals(List.of("remember", "recall", "current_time", "http_fetch", "query_tasks", "push_message", "schedule_task"), builtIns);
    assertEquals(1, data.stream().filter(s -> "recall".equals(((JsonObject) s).getString("name"))).count());
  }

  @Test
  void theListNeedsAToken() throws Exception {
    int status = WebClient.create(client).getAbs(gateway.url("/api/v1/skills")).send()
        .await(10, TimeUnit.SECONDS).statusCode();
    assertEquals(401, status);
  }

  private static JsonObject skills() throws Exception {
    var response = WebClient.create(client).getAbs(gateway.url("/api/v1/skills"))
        .bearerTokenAuthentication(gateway.token("alice")).send().await(10, TimeUnit.SECONDS);
    assertEquals(200, response.statusCode(), response.bodyAsString());
    return response.bodyAsJsonObject();
  }

  private static JsonObject find(JsonArray data, String name) {
    return data.stream().map(JsonObject.class::cast).filter(s -> name.equals(s.getString("name"))).findFirst()
        .orElseThrow(() -> new AssertionError(name + " not listed: " + data.encode()));
  }
}
