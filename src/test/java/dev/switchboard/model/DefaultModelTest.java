package dev.switchboard.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.bus.Addresses;
import dev.switchboard.cluster.Until;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The model for work that names none ({@code model.default}, and the start-up banner): the
 * configured {@code default_model}, else the default provider's first model, from its
 * {@code models:} list or, for a pass-through provider, from its {@code /models} (the fake lists
 * fake-model, then fake-model-2). Probes every second, so that what changes shows soon.
 */
@ExtendWith(VertxExtension.class)
@DisplayName("The default model")
class DefaultModelTest {

  FakeUpstream upstream;
  FakeUpstream second;
  TestGateway gateway;
  final List<LogRecord> logged = new CopyOnWriteArrayList<>();
  /** Held here: the logging framework keeps loggers only weakly, and with them their handlers. */
  final Logger modelLog = Logger.getLogger("dev.switchboard.model");
  final Handler capture = new Handler() {
    @Override
    public void publish(LogRecord record) {
      if (record.getMessage() != null && record.getMessage().startsWith("default model is now")) {
        logged.add(record);
      }
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
    }
  };

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    second = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    modelLog.addHandler(capture);
  }

  @AfterEach
  void stop() {
    modelLog.removeHandler(capture);
    if (gateway != null) {
      gateway.close();
    }
  }

  private static String provider(String name, String endpoint, String models) {
    return """
          - name: "%s"
            endpoint: "%s"
            auth: { type: "api_key", key: "k" }
            models: %s
        """.formatted(name, endpoint, models);
  }

  private TestGateway boot(String providers, String defaultModel) {
    gateway = TestGateway.builder().file("model_provider.yaml", "providers:\n" + providers
        + "default_model: \"" + defaultModel + "\"\n"
        + "health_check: { interval: 1s, timeout: 2s }\n").start();
    return gateway;
  }

  private JsonObject asked() throws Exception {
    return gateway.vertx().eventBus().<JsonObject>request(Addresses.MODEL_DEFAULT, null).await(10, TimeUnit.SECONDS).body();
  }

  private long logs(String text) {
    return logged.stream().filter(r -> r.getLevel() == Level.INFO && r.getMessage().equals(text)).count();
  }

  @Test
  @DisplayName("no default_model and a pass-through provider: the first model its /models lists, and the banner says so")
  void discoveredFromTheList() throws Exception {
    boot(provider("default", upstream.baseUrl(), "[\"*\"]"), "");
    JsonObject d = asked();
    assertEquals("fake-model", d.getString("model"), d.encode());
    assertEquals("discovered", d.getString("source"));
    assertEquals("default", d.getString("provider"));
    assertTrue(gateway.banner().contains("| default model: fake-model (the first in provider 'default''s model list;"),
        gateway.banner());
  }

  @Test
  @DisplayName("a provider that names its models: the first of them, and the banner says so")
  void firstListedModel() throws Exception {
    boot(provider("default", upstream.baseUrl(), "[\"x\", \"y\"]"), "");
    JsonObject d = asked();
    assertEquals("x", d.getString("model"), d.encode());
    assertEquals("listed", d.getString("source"));
    assertTrue(gateway.banner().contains("| default model: x (the first model of provider 'default';"), gateway.banner());
  }

  @Test
  @DisplayName("default_model wins over any provider's list")
  void configuredWins() throws Exception {
    boot(provider("default", upstream.baseUrl(), "[\"*\"]"), "chosen");
    JsonObject d = asked();
    assertEquals("chosen", d.getString("model"));
    assertEquals("configured", d.getString("source"));
    assertTrue(gateway.banner().contains("| default model: chosen |"), gateway.banner());
  }

  @Test
  @DisplayName("no model to be found at all: model and source are null, and the banner says to set MODEL_NAME")
  void noneFindable() throws Exception {
    upstream.down(true);
    boot(provider("default", upstream.baseUrl(), "[\"*\"]"), "");
    JsonObject d = asked();
    assertNull(d.getString("model"), d.encode());
    assertNull(d.getString("source"));
    assertTrue(gateway.banner().contains("| default model: none (tasks must name one; set MODEL_NAME)"), gateway.banner());
  }

  @Test
  @DisplayName("no provider configured: no default model")
  void noProvider() throws Exception {
    gateway = TestGateway.builder().start();
    assertNull(asked().getString("model"));
    assertTrue(gateway.banner().contains("| default model: none (tasks must name one; set MODEL_NAME)"), gateway.banner());
  }

  @Test
  @DisplayName("when the default provider lists nothing, the next provider's first model is used")
  void nextProvider() throws Exception {
    upstream.down(true);
    boot(provider("first", upstream.baseUrl(), "[\"*\"]") + provider("second", second.baseUrl(), "[\"x\"]"), "");
    JsonObject d = asked();
    assertEquals("x", d.getString("model"), d.encode());
    assertEquals("second", d.getString("provider"));
  }

  @Test
  @DisplayName("a list that answers later makes its first model the default, logged once")
  void foundLater() throws Exception {
    upstream.down(true);
    boot(provider("default", upstream.baseUrl(), "[\"*\"]"), "");
    assertNull(asked().getString("model"));
    upstream.down(false);
    Until.holds(Duration.ofSeconds(15), "the default found with a later probe", () -> "fake-model".equals(asked().getString("model")));
    int probes = upstream.modelsRequests();
    Until.holds(Duration.ofSeconds(15), "two more probes", () -> upstream.modelsRequests() >= probes + 2);
    assertEquals(1, logs("default model is now fake-model (from provider 'default''s model list)"), logged.toString());
  }

  @Test
  @DisplayName("a list that cannot be read later keeps the model found before")
  void keptWhenTheListFails() throws Exception {
    boot(provider("default", upstream.baseUrl(), "[\"*\"]"), "");
    assertEquals("fake-model", asked().getString("model"));
    upstream.down(true);
    int probes = upstream.modelsRequests();
    Until.holds(Duration.ofSeconds(15), "two failed probes", () -> upstream.modelsRequests() >= probes + 2);
    assertEquals("fake-model", asked().getString("model"));
  }
}
