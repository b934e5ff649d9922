package dev.switchboard.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** How the ids ride on the event bus, from the sender's work into the receiver's. */
@DisplayName("Request ids on the bus")
class RequestIdBusTest {

  Vertx vertx;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    RequestIds.install(vertx.eventBus());
    // answers with the ids its handler sees
    vertx.eventBus().<String>consumer("ids", m -> m.reply(RequestIds.current() + "/" + RequestIds.currentTask()));
  }

  @AfterEach
  void stop() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private String ask(DeliveryOptions options) throws Exception {
    return vertx.eventBus().<String>request("ids", "", options).await(10, TimeUnit.SECONDS).body();
  }

  @Test
  @DisplayName("a message sent inside a piece of work carries its request and task ids to the receiver")
  void carried() throws Exception {
    String seen = RequestIds.within(vertx, "req-bus-1", "task-bus-1",
        () -> vertx.eventBus().<String>request("ids", "").map(m -> m.body())).await(10, TimeUnit.SECONDS);
    assertEquals("req-bus-1/task-bus-1", seen);
  }

  @Test
  @DisplayName("a message sent outside any work carries none, and the receiver's next message does not inherit one")
  void none() throws Exception {
    assertEquals("req-x/null", ask(new DeliveryOptions().addHeader(RequestIds.HEADER, "req-x")));
    assertEquals("null/null", ask(new DeliveryOptions()));
  }

  @Test
  @DisplayName("work that enters without HTTP gets a fresh id; a valid one it brings is kept, an invalid one replaced")
  void fresh() throws Exception {
    String seen = ask(RequestIds.fresh(new DeliveryOptions()));
    assertNotNull(seen);
    assertEquals(true, RequestIds.valid(seen.substring(0, seen.indexOf('/'))), seen);
    assertEquals("mine-1/null", ask(RequestIds.fresh(new DeliveryOptions().addHeader(RequestIds.HEADER, "mine-1"))));
    String replaced = ask(RequestIds.fresh(new DeliveryOptions().addHeader(RequestIds.HEADER, "not plain")));
    assertEquals(true, RequestIds.valid(replaced.substring(0, replaced.indexOf('/'))), replaced);
  }

  @Test
  @DisplayName("an id a bridge client wrote that is not plain and bounded is not taken")
  void invalidNotTaken() throws Exception {
    assertEquals("null/null", ask(new DeliveryOptions().addHeader(RequestIds.HEADER, "two\nlines")));
    assertEquals("null/null", ask(new DeliveryOptions().addHeader(RequestIds.HEADER, "x".repeat(129))));
  }

  @Test
  @DisplayName("a reply does not put the replier's id into the asker's context")
  void repliesNotTaken() throws Exception {
    vertx.eventBus().<String>consumer("replier", m -> RequestIds.within(vertx, "replier-id", null,
        () -> Future.succeededFuture("")).onComplete(v -> m.reply("ok", new DeliveryOptions().addHeader(RequestIds.HEADER, "replier-id"))));
    String after = RequestIds.within(vertx, null, null, () -> vertx.eventBus().request("replier", "")
        .map(m -> String.valueOf(RequestIds.current()))).await(10, TimeUnit.SECONDS);
    assertEquals("null", after);
    assertNull(RequestIds.current(), "outside Vert.x: none");
  }

  @Test
  @DisplayName("a reply is not given the ids: they are never read back, and copying them cost every request-reply two maps")
  void repliesNotStamped() throws Exception {
    io.vertx.core.MultiMap headers = RequestIds.within(vertx, "req-reply-1", "task-reply-1",
        () -> vertx.eventBus().<String>request("ids", "").map(m -> m.headers())).await(10, TimeUnit.SECONDS);
    assertNull(headers.get(RequestIds.HEADER), headers.toString());
    assertNull(headers.get(RequestIds.TASK_HEADER), headers.toString());
  }
}
