package dev.switchboard.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.CallEvent;
import dev.switchboard.bus.ChatCall;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The model component's call protocol on the bus, as the ingress uses it: a {@link ChatCall} sent
 * to {@code model.call} answers with events to its id, streaming or not, and its id cancels it.
 * Against the real gateway and a real fake upstream.
 */
@ExtendWith(VertxExtension.class)
@DisplayName("A model call is a stream of events to its id, streaming or not, and its id cancels it")
class ModelCallEventsTest {

  FakeUpstream a;
  TestGateway gateway;
  final List<CallEvent> events = new CopyOnWriteArrayList<>();
  MessageConsumer<CallEvent> consumer;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    a = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    gateway = TestGateway.builder().file("model_provider.yaml", """
        providers:
          - name: "a"
            endpoint: "%s"
            auth: { type: "api_key", key: "key-a" }
            models: ["fake-model"]
        groups:
          - name: "chat"
            deployments:
              - { provider: "a", model: "fake-model" }
        retry: { max_attempts: 1, deadline: 60s }
        health_check: { interval: 1h }
        """.formatted(a.baseUrl())).start();
  }

  @AfterEach
  void stop() {
    if (consumer != null) {
      consumer.unregister();
    }
    gateway.close();
  }

  /** Registers a consumer at a fresh id, then sends the call: what the ingress does. */
  private String call(String model, boolean stream) {
    String id = Addresses.CALL_PREFIX + "test." + UUID.randomUUID();
    consumer = gateway.vertx().eventBus().<CallEvent>localConsumer(id, m -> events.add(m.body()));
    JsonObject body = new JsonObject().put("model", model).put("stream", stream)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hi there")));
    gateway.vertx().eventBus().send(Addresses.MODEL_CALL, new ChatCall(body, "t", id, List.of(), stream));
    return id;
  }

  private void awaitLast(Class<? extends CallEvent> type) throws InterruptedException {
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (events.isEmpty() || !type.isInstance(events.get(events.size() - 1))) {
      assertTrue(System.nanoTime() < until, "no " + type.getSimpleName() + " in time; got " + events);
      Thread.sleep(10);
    }
  }

  @Test
  @DisplayName("a call that does not stream sends one Answer with the completion")
  void plainCallSendsOneAnswer() throws Exception {
    call("chat", false);
    awaitLast(CallEvent.Answer.class);
    Thread.sleep(200);
    assertEquals(1, events.size(), "more than the answer: " + events);
    CallEvent.Answer answer = (CallEvent.Answer) events.get(0);
    assertEquals(200, answer.reply().status());
    assertEquals("a", answer.reply().provider());
    assertTrue(answer.reply().body().toJsonObject().containsKey("choices"), answer.reply().body().toString());
  }

  @Test
  @DisplayName("a streamed call sends a Head first, then chunks, then End")
  void streamedCallSendsHeadChunksThenEnd() throws Exception {
    call("chat", true);
    awaitLast(CallEvent.End.class);
    assertInstanceOf(CallEvent.Head.class, events.get(0));
    for (CallEvent e : events.subList(1, events.size() - 1)) {
      assertInstanceOf(CallEvent.Chunk.class, e, "between the head and the end: " + events);
    }
  }

  @Test
  @DisplayName("a call that fails sends one Failed with the failure's status")
  void failedCallSendsOneFailed() throws Exception {
    a.respondWith(400, "{\"error\":{\"message\":\"bad messages\",\"type\":\"invalid_request_error\"}}");
    call("chat", false);
    awaitLast(CallEvent.Failed.class);
    Thread.sleep(200);
    assertEquals(1, events.size(), "more than the failure: " + events);
    assertEquals(400, ((CallEvent.Failed) events.get(0)).failure().status());
  }

  @Test
  @DisplayName("a model nobody serves fails the call at once with 404, streaming or not")
  void unknownModelFailsWith404() throws Exception {
    call("no-such-model", true);
    awaitLast(CallEvent.Failed.class);
    assertEquals(1, events.size(), events.toString());
    assertEquals(404, ((CallEvent.Failed) events.get(0)).failure().status());
  }

  @Test
  @DisplayName("a stream cancelled after its first token resets its upstream request and sends nothing more")
  void streamCancelledAfterItsFirstTokenSendsNothingMore() throws Exception {
    a.fault(FakeUpstream.Fault.TRICKLE);
    String id = call("chat", true);
    awaitLast(CallEvent.class);
    assertInstanceOf(CallEvent.Head.class, events.get(0));
    int closedBefore = a.closedConnections();
    gateway.vertx().eventBus().request(Addresses.MODEL_CANCEL, id).await(5, TimeUnit.SECONDS);
    int seen = events.size();
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (a.closedConnections() == closedBefore) {
      assertTrue(System.nanoTime() < until, "the upstream request was not reset");
      Thread.sleep(10);
    }
    // the upstream sends a token every 100 ms: a call still relaying would have sent several by now
    Thread.sleep(500);
    assertEquals(seen, events.size(), "events after the cancel: " + events.subList(seen, events.size()));
  }

  @Test
  @DisplayName("a cancelled call is answered, resets its upstream request and sends nothing more")
  void cancelledCallSendsNothingMore() throws Exception {
    a.delay(Duration.ofMillis(1500));
    String id = call("chat", false);
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (a.chatRequestCount() == 0) {
      assertTrue(System.nanoTime() < until, "the call never reached the upstream");
      Thread.sleep(10);
    }
    int closedBefore = a.closedConnections();
    gateway.vertx().eventBus().request(Addresses.MODEL_CANCEL, id).await(5, TimeUnit.SECONDS);
    while (a.closedConnections() == closedBefore) {
      assertTrue(System.nanoTime() < until, "the upstream request was not reset");
      Thread.sleep(10);
    }
    Thread.sleep(2000);
    assertEquals(List.of(), events, "events after the cancel");
  }
}
