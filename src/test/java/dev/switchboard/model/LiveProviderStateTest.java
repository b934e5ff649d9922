package dev.switchboard.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
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
 * Provider state follows live traffic as well as probes. Probes run once at start-up only (interval
 * 1h), so whatever changes afterwards comes from the calls; {@code health_check.down_after} is left
 * at its default, 5. Group "chat": a, then b; group "solo": a.
 */
@ExtendWith(VertxExtension.class)
@DisplayName("A provider's state follows its live calls, not only its probes")
class LiveProviderStateTest {

  FakeUpstream a;
  FakeUpstream b;
  TestGateway gateway;
  WebClient web;
  String token;
  final List<LogRecord> logged = new CopyOnWriteArrayList<>();
  /** Held here: the logging framework keeps loggers only weakly, and with them their handlers. */
  final Logger modelLog = Logger.getLogger("dev.switchboard.model");
  final Handler capture = new Handler() {
    @Override
    public void publish(LogRecord record) {
      if (record.getMessage() != null && record.getMessage().startsWith("provider 'a' is ")) {
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
    a = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    b = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    web = WebClient.create(vertx);
    modelLog.addHandler(capture);
    gateway = TestGateway.builder().file("model_provider.yaml", """
        providers:
          - name: "a"
            endpoint: "%s"
            auth: { type: "api_key", key: "key-a" }
            models: ["fake-model"]
            timeouts: { connect: 1s, first_token: 1s, total: 2s }
            required: true
          - name: "b"
            endpoint: "%s"
            auth: { type: "api_key", key: "key-b" }
            models: ["fake-model"]
        groups:
          - name: "chat"
            deployments:
              - { provider: "a", model: "fake-model", priority: 1 }
              - { provider: "b", model: "fake-model", priority: 2 }
          - name: "solo"
            deployments:
              - { provider: "a", model: "fake-model" }
        retry: { max_attempts: 3, deadline: 10s, backoff: { base: 10ms, max: 20ms } }
        circuit_breaker: { window: 30s, min_calls: 100, failure_rate: 0.5, cooldown: 30s }
        health_check: { interval: 1h, timeout: 10s }
        """.formatted(a.baseUrl(), b.baseUrl())).start();
    token = gateway.token("t");
    // the start-up probe has answered: a is up
    for (int i = 0; i < 200 && !"up".equals(readyA()); i++) {
      Thread.sleep(50);
    }
    assertEquals("up", readyA(), "the start-up probe answered");
  }

  @AfterEach
  void stop() {
    modelLog.removeHandler(capture);
    gateway.close();
  }

  private HttpResponse<Buffer> chat(String model) throws Exception {
    JsonObject body = new JsonObject().put("model", model)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hi")));
    return web.postAbs(gateway.url("/v1/chat/completions")).bearerTokenAuthentication(token).sendJsonObject(body)
        .await(20, TimeUnit.SECONDS);
  }

  private JsonObject deploymentA() throws Exception {
    JsonObject all = web.getAbs(gateway.url("/api/v1/providers")).bearerTokenAuthentication(token).send()
        .await(10, TimeUnit.SECONDS).bodyAsJsonObject();
    for (Object o : all.getJsonArray("data")) {
      if ("a".equals(((JsonObject) o).getString("provider"))) {
        return (JsonObject) o;
      }
    }
    throw new AssertionError(all.encode());
  }

  private String readyA() throws Exception {
    return web.getAbs(gateway.url("/readyz")).send().await(10, TimeUnit.SECONDS).bodyAsJsonObject()
        .getJsonObject("components").getJsonObject("provider:a").getString("status");
  }

  private String upGauge() throws Exception {
    for (String line : web.getAbs(gateway.url("/metrics")).send().await(10, TimeUnit.SECONDS).bodyAsString().split("\n")) {
      if (line.startsWith("switchboard_provider_up{provider=\"a\"}")) {
        return line.substring(line.lastIndexOf(' ') + 1);
      }
    }
    throw new AssertionError("no switchboard_provider_up for a");
  }

  private long logged(Level level, String text) {
    return logged.stream().filter(r -> r.getLevel() == level && r.getMessage().contains(text)).count();
  }

  @Test
  @DisplayName("five failed calls in a row mark it down between probes: providers API, /readyz and the gauge agree")
  void failingCallsMarkItDown() throws Exception {
    a.respondWith(500, "{\"error\":{\"message\":\"overloaded\"}}");
    for (int i = 0; i < 5; i++) {
      HttpResponse<Buffer> r = chat("chat");
      assertEquals("b", r.getHeader("x-switchboard-provider"), r.bodyAsString());
    }
    JsonObject d = deploymentA();
    assertEquals("down", d.getString("state"), d.encode());
    assertTrue(d.getString("reason").contains("5 calls in a row failed"), d.encode());
    assertEquals("down", readyA());
    assertEquals("0.0", upGauge());
    assertEquals(503, web.getAbs(gateway.url("/readyz")).send().await(10, TimeUnit.SECONDS).statusCode(),
        "a is required");
    HttpResponse<Buffer> next = chat("chat");
    assertEquals("b", next.getHeader("x-switchboard-provider"));
    assertEquals(5, a.chatRequestCount(), "a down provider is not tried first");
  }

  @Test
  @DisplayName("the first call that succeeds brings it back up")
  void aSuccessBringsItBack() throws Exception {
    a.respondWith(500, "{\"error\":{\"message\":\"overloaded\"}}");
    assertEquals(502, chat("solo").statusCode());
    assertEquals(502, chat("solo").statusCode());
    assertEquals("down", deploymentA().getString("state"));
    a.reset();
    assertEquals(200, chat("solo").statusCode(), "a down provider still answers when nothing else can");
    assertEquals("up", deploymentA().getString("state"));
    assertEquals("up", readyA());
    assertEquals("1.0", upGauge());
  }

  @Test
  @DisplayName("going down and coming back are logged once each, however many calls fail, with the reason")
  void transitionsLoggedOnce() throws Exception {
    a.respondWith(500, "{\"error\":{\"message\":\"overloaded\"}}");
    for (int i = 0; i < 4; i++) {
      assertEquals(502, chat("solo").statusCode());
    }
    a.reset();
    assertEquals(200, chat("solo").statusCode());
    assertEquals(200, chat("solo").statusCode());
    assertEquals(1, logged(Level.WARNING, "is down: 5 calls in a row failed, the last: upstream 'a' answered 500: overloaded"),
        logged.toString());
    assertEquals(1, logged(Level.INFO, "is up again"), logged.toString());
    assertEquals(2, logged.size(), logged.stream().map(LogRecord::getMessage).toList().toString());
  }
}
