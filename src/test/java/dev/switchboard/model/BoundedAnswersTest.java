package dev.switchboard.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.bus.Addresses;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.FakeUpstream.Fault;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What the gateway reads from upstreams is bounded, and an answer refused for its size or shape is
 * a clear 502 that is not fetched from the same deployment again. Group "solo" is provider a
 * alone; group "chat" is a, then b.
 */
@ExtendWith(VertxExtension.class)
@DisplayName("Upstream answers are bounded in size and checked in shape")
class BoundedAnswersTest {

  FakeUpstream a;
  FakeUpstream b;
  TestGateway gateway;
  WebClient web;
  String token;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    a = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    b = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    web = WebClient.create(vertx);
  }

  @AfterEach
  void stop() {
    if (gateway != null) {
      gateway.close();
    }
  }

  /** Provider a with {@code aLimits} (empty: the defaults), b normal. */
  private void boot(String aLimits, String rest) {
    gateway = TestGateway.builder().file("model_provider.yaml", """
        providers:
          - name: "a"
            endpoint: "%s"
            auth: { type: "api_key", key: "key-a" }
            models: ["*"]
            timeouts: { connect: 1s, first_token: 2s, total: 5s }
            %s
          - name: "b"
            endpoint: "%s"
            auth: { type: "api_key", key: "key-b" }
            models: ["fake-model"]
        groups:
          - name: "solo"
            deployments:
              - { provider: "a", model: "fake-model" }
          - name: "chat"
            deployments:
              - { provider: "a", model: "fake-model", priority: 1 }
              - { provider: "b", model: "fake-model", priority: 2 }
        retry: { max_attempts: 3, deadline: 20s, backoff: { base: 10ms, max: 20ms } }
        %s
        """.formatted(a.baseUrl(), aLimits, b.baseUrl(), rest)).start();
    token = gateway.token("t");
  }

  private HttpResponse<Buffer> chat(String model, boolean stream) throws Exception {
    JsonObject body = new JsonObject().put("model", model).put("stream", stream)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hi")));
    return web.postAbs(gateway.url("/v1/chat/completions")).bearerTokenAuthentication(token).sendJsonObject(body)
        .await(30, TimeUnit.SECONDS);
  }

  private static String error(HttpResponse<Buffer> r, int status) {
    assertEquals(status, r.statusCode(), r.bodyAsString());
    return r.bodyAsJsonObject().getJsonObject("error").getString("message");
  }

  /** Waits (a few seconds at most) until {@code value} reaches 0: a connection the gateway dropped. */
  private static int settles(IntSupplier value) throws InterruptedException {
    for (int i = 0; i < 100 && value.getAsInt() > 0; i++) {
      Thread.sleep(30);
    }
    return value.getAsInt();
  }

  @Test
  @DisplayName("an endless answer fails with 502 naming the limit, is not fetched again, and its connection is closed")
  void endlessAnswer() throws Exception {
    boot("", "");
    a.fault(Fault.ENDLESS_BODY);
    String message = error(chat("solo", false), 502);
    assertTrue(message.startsWith("upstream 'a' sent an answer larger than 16 MB (limits.max_response_size)"), message);
    assertEquals(1, a.chatRequestCount(), "not fetched again from the same deployment");
    assertEquals(0, settles(a::openConnections), "the endless answer's connection is closed");
    a.reset();
    assertEquals(200, chat("solo", false).statusCode(), "the gateway keeps serving");
  }

  @Test
  @DisplayName("a 20 MiB answer is a clear 502 'larger than 16 MB' by default, and another deployment answers instead")
  void hugeAnswer() throws Exception {
    boot("", "");
    a.fault(Fault.HUGE_BODY);
    String message = error(chat("solo", false), 502);
    assertTrue(message.startsWith("upstream 'a' sent an answer larger than 16 MB"), message);
    assertEquals(1, a.chatRequestCount());
    HttpResponse<Buffer> r = chat("chat", false);
    assertEquals(200, r.statusCode(), r.bodyAsString());
    assertEquals("b", r.getHeader("x-switchboard-provider"));
    assertEquals(2, a.chatRequestCount());
  }

  @Test
  @DisplayName("an answer under the limit whose content is longer than the JSON parser's own string limit passes")
  void longButAllowedAnswer() throws Exception {
    boot("limits: { max_response_size: 32mb }", "");
    a.fault(Fault.HUGE_BODY).hugeSize(21L * 1024 * 1024);
    HttpResponse<Buffer> r = chat("solo", false);
    String body = r.bodyAsString();
    assertEquals(200, r.statusCode(), body.substring(0, Math.min(300, body.length())));
    assertTrue(body.length() > 21 * 1024 * 1024 && body.endsWith("\"total_tokens\":2}}"), "the whole answer arrived");
    assertEquals(1, a.chatRequestCount());
  }

  @Test
  @DisplayName("a 200 that is not JSON is fetched once from a deployment, not three times")
  void invalidJsonOnce() throws Exception {
    boot("", "");
    a.fault(Fault.MALFORMED_JSON);
    String message = error(chat("solo", false), 502);
    assertTrue(message.startsWith("upstream 'a' sent a malformed answer"), message);
    assertEquals(1, a.chatRequestCount());
  }

  @Test
  @DisplayName("a redirect is a 502 naming the upstream and where it pointed, never passed on as 302")
  void redirect() throws Exception {
    boot("", "");
    a.respondWith(302, "", Map.of("Location", "https://elsewhere.example/v1/chat/completions"));
    String message = error(chat("solo", false), 502);
    assertTrue(message.startsWith("upstream 'a' answered 302 (a redirect to https://elsewhere.example)"), message);
    assertEquals(1, a.chatRequestCount());
    String streamed = error(chat("solo", true), 502);
    assertTrue(streamed.startsWith("upstream 'a' answered 302"), streamed);
  }

  @Test
  @DisplayName("a stream that sends bytes but never an event fails at max_event_size (1 MB) with 502, and its connection is closed")
  void streamWithoutEvents() throws Exception {
    boot("", "");
    a.fault(Fault.ENDLESS_BODY);
    String message = error(chat("solo", true), 502);
    assertTrue(message.startsWith("upstream 'a' sent more than 1 MB without completing a stream event"), message);
    assertEquals(1, a.chatRequestCount());
    assertEquals(0, settles(a::openConnections));
  }

  @Test
  @DisplayName("a stream event larger than max_event_size (1 MB by default) is refused once, and another deployment answers")
  void hugeStreamEvent() throws Exception {
    boot("", "");
    a.fault(Fault.HUGE_BODY);
    String message = error(chat("solo", true), 502);
    assertTrue(message.startsWith("upstream 'a' sent more than 1 MB without completing a stream event (limits.max_event_size)"),
        message);
    assertEquals(1, a.chatRequestCount());
    HttpResponse<Buffer> r = chat("chat", true);
    assertEquals(200, r.statusCode(), r.bodyAsString());
    assertEquals("b", r.getHeader("x-switchboard-provider"));
    assertEquals("echo: hi", DispatchResilienceTest.streamedText(r.bodyAsString()));
  }

  @Test
  @DisplayName("a stream that times out before its first token closes its upstream connection at once")
  void streamTimeoutClosesTheConnection() throws Exception {
    boot("", "");
    a.fault(Fault.STALL_AFTER_HEADERS);
    String message = error(chat("solo", true), 504);
    assertTrue(message.contains("sent no token within 2s"), message);
    assertEquals(0, settles(a::openConnections), "no stalled stream is left open");
  }

  @Test
  @DisplayName("a stream that runs past its total timeout after its first token is cut, and its connection closed")
  void streamPastTotalClosesTheConnection() throws Exception {
    boot("", "");
    a.fault(Fault.TRICKLE);
    HttpResponse<Buffer> r = chat("solo", true);
    assertEquals(200, r.statusCode());
    assertTrue(r.bodyAsString().contains("did not answer within 5s"), r.bodyAsString());
    assertEquals(0, settles(a::openConnections));
  }

  @Test
  @DisplayName("a model list or probe answer larger than the limit is refused: the list leaves it out, the probe fails")
  void modelListAndProbeBounded() throws Exception {
    a.modelsFault(Fault.HUGE_BODY);
    boot("", "health_check: { interval: 1h, timeout: 10s }");
    HttpResponse<Buffer> models = web.getAbs(gateway.url("/v1/models")).bearerTokenAuthentication(token).send()
        .await(30, TimeUnit.SECONDS);
    assertEquals(200, models.statusCode(), "b's configured model still lists");
    assertTrue(models.body().length() < 64 * 1024, "a's oversized list is left out");
    JsonObject component = null;
    for (int i = 0; i < 200; i++) {
      component = web.getAbs(gateway.url("/readyz")).send().await(10, TimeUnit.SECONDS).bodyAsJsonObject()
          .getJsonObject("components").getJsonObject("provider:a");
      if (!"unknown".equals(component.getString("status"))) {
        break;
      }
      Thread.sleep(50);
    }
    assertEquals("down", component.getString("status"), component.encode());
    assertTrue(component.getJsonObject("last_probe").getString("error").contains("larger than 16 MB"), component.encode());
  }

  @Test
  @DisplayName("an embeddings answer larger than the limit is a 502 naming it")
  void embeddingsBounded() throws Exception {
    a.embeddingsFault(Fault.HUGE_BODY);
    boot("", "embeddings: { provider: \"a\", model: \"fake-embed\" }");
    Throwable failure = null;
    try {
      gateway.vertx().eventBus().request(Addresses.MODEL_EMBED, new JsonArray().add("hello")).await(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      failure = e;
    }
    assertTrue(failure instanceof ReplyException, String.valueOf(failure));
    assertEquals(502, ((ReplyException) failure).failureCode(), failure.getMessage());
    assertTrue(failure.getMessage().contains("larger than 16 MB"), failure.getMessage());
  }
}
