package dev.switchboard.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.Settings;
import dev.switchboard.config.ConfigError;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Which providers are on, and what start-up and clients are told about those that are off. */
@ExtendWith(VertxExtension.class)
@DisplayName("A provider that lacks its endpoint or its key is off, and says which variable to set")
class ProviderOffTest {

  FakeUpstream upstream;
  TestGateway gateway;
  WebClient web;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    web = WebClient.create(vertx);
  }

  @AfterEach
  void stop() {
    if (gateway != null) {
      gateway.close();
    }
  }

  private HttpResponse<Buffer> chat() throws Exception {
    JsonObject body = new JsonObject().put("model", "fake-model")
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hi")));
    return web.postAbs(gateway.url("/v1/chat/completions")).bearerTokenAuthentication(gateway.token("t"))
        .sendJsonObject(body).await(20, TimeUnit.SECONDS);
  }

  @Test
  @DisplayName("the shipped default with MODEL_API_KEY unset is off: the start-up line names the key, the upstream is never called")
  void unsetKeyTurnsTheProviderOff() throws Exception {
    gateway = TestGateway.builder().env("MODEL_ENDPOINT", upstream.baseUrl()).start();
    assertTrue(gateway.banner().contains("providers: default (off: key unset (MODEL_API_KEY))"), gateway.banner());
    HttpResponse<Buffer> r = chat();
    assertEquals(503, r.statusCode(), r.bodyAsString());
    assertTrue(r.bodyAsString().contains("MODEL_API_KEY"), r.bodyAsString());
    assertEquals(0, upstream.chatRequestCount(), "no unauthenticated calls");
    assertEquals(0, upstream.modelsRequests(), "an off provider is not probed");
  }

  @Test
  @DisplayName("with nothing set, the start-up line names both the endpoint's and the key's variable")
  void unsetEndpointNamesItsVariable() {
    gateway = TestGateway.builder().start();
    assertTrue(gateway.banner().contains("default (off: endpoint unset (MODEL_ENDPOINT), key unset (MODEL_API_KEY))"),
        gateway.banner());
  }

  @Test
  @DisplayName("a provider without an auth section (a local server) sends no key and answers")
  void noAuthSectionMeansNoKey() throws Exception {
    gateway = TestGateway.builder().file("model_provider.yaml", """
        providers:
          - name: "local"
            endpoint: "%s"
            models: ["*"]
        """.formatted(upstream.baseUrl())).start();
    HttpResponse<Buffer> r = chat();
    assertEquals(200, r.statusCode(), r.bodyAsString());
    assertNull(upstream.chatKeys().get(0), "no Authorization header");
    assertTrue(gateway.banner().contains("local (http://127.0.0.1:"), gateway.banner());
  }

  @Test
  @DisplayName("a model served only by a provider that is off gets 503 naming the provider and its reason, not 404")
  void modelOfAnOffProvider() throws Exception {
    gateway = TestGateway.builder().env("DS_ENDPOINT", upstream.baseUrl()).file("model_provider.yaml", """
        providers:
          - name: "deepseek"
            endpoint: "${DS_ENDPOINT}"
            auth: { type: "api_key", key: "${DEEPSEEK_API_KEY}" }
            models: ["fake-model"]
          - name: "other"
            endpoint: "%s"
            models: ["other-model"]
        """.formatted(upstream.baseUrl())).start();
    HttpResponse<Buffer> r = chat();
    assertEquals(503, r.statusCode(), r.bodyAsString());
    String message = r.bodyAsJsonObject().getJsonObject("error").getString("message");
    assertTrue(message.contains("'deepseek' (off: key unset (DEEPSEEK_API_KEY))"), message);
    assertEquals(0, upstream.chatRequestCount());
  }

  @Test
  @DisplayName("auth type none together with a key is refused at start-up, naming the key")
  void noneWithAKeyIsAConfigError(@TempDir Path dir) throws Exception {
    copyShipped(dir);
    Files.writeString(dir.resolve("model_provider.yaml"), """
        providers:
          - name: "a"
            endpoint: "http://127.0.0.1:1/v1"
            auth: { type: "none", key: "sk-1" }
        """);
    ConfigError e = assertThrows(ConfigError.class, () -> Settings.load(dir, Map.<String, String>of()::get));
    assertEquals("providers[0].auth.type", e.key());
  }

  @Test
  @DisplayName("the shipped presets, uncommented: hosted APIs are off until their key is set, local servers need none")
  void shippedPresets(@TempDir Path dir) throws Exception {
    copyShipped(dir);
    Files.writeString(dir.resolve("model_provider.yaml"), uncommentedPresets());
    // the local presets are on 127.0.0.1: the commented allow line of security.outbound, uncommented
    String shipped = Files.readString(dir.resolve("switchboard.yaml"));
    Files.writeString(dir.resolve("switchboard.yaml"), shipped.replace("    # allow: [\"127.0.0.1\"", "    allow: [\"127.0.0.1\""));
    Settings s = Settings.load(dir, Map.of("MODEL_ENDPOINT", "http://127.0.0.1:1/v1", "MODEL_API_KEY", "sk-1",
        "ZHIPU_API_KEY", "zk-1")::get);
    String summary = s.models().summary();
    for (String hosted : List.of("deepseek", "dashscope", "moonshot", "siliconflow")) {
      String variable = hosted.toUpperCase() + "_API_KEY";
      assertTrue(summary.contains(hosted + " (off: key unset (" + variable + "))"), summary);
    }
    for (String on : List.of("default", "zhipu", "local-vllm", "local-ollama", "ollama-native", "llamacpp")) {
      assertTrue(summary.contains(on + " (http://") || summary.contains(on + " (https://"), on + ": " + summary);
    }
  }

  private static void copyShipped(Path dir) throws Exception {
    for (String name : new String[] {"switchboard.yaml", "model_provider.yaml", "channels.yaml"}) {
      Files.copy(Path.of("conf", name), dir.resolve(name));
    }
  }

  /** The shipped file with every commented provider preset turned on, as an operator would. */
  private static String uncommentedPresets() throws Exception {
    List<String> out = new ArrayList<>();
    boolean preset = false;
    for (String line : Files.readAllLines(Path.of("conf", "model_provider.yaml"))) {
      preset = preset ? !line.isBlank() : line.startsWith("  # - name:");
      out.add(preset && line.startsWith("  # ") ? "  " + line.substring(4) : line);
    }
    return String.join("\n", out) + "\n";
  }
}
