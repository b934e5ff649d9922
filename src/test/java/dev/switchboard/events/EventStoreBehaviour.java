package dev.switchboard.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.bus.Failure;
import dev.switchboard.events.EventStore.Due;
import dev.switchboard.events.EventStore.Page;
import dev.switchboard.events.EventStore.Query;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What the event store promises, whatever keeps it: run against SQLite ({@link EmbeddedEventStoreTest})
 * and against Redis ({@link RedisEventStoreIT}). Leases meant to run out are a few hundred
 * milliseconds; waits are for states, bounded generously.
 */
@ExtendWith(VertxExtension.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
abstract class EventStoreBehaviour {

  static final Duration LONG = Duration.ofMinutes(1);
  static final Duration SHORT = Duration.ofMillis(200);

  Vertx vertx;
  EventStore store;

  /** A store on this test's data (the same data each time within a test). */
  abstract EventStore create() throws Exception;

  @BeforeEach
  void open(Vertx vertx) throws Exception {
    this.vertx = vertx;
    store = create();
  }

  @AfterEach
  void closeStore() throws Exception {
    if (store != null) {
      await(store.close());
    }
  }

  static <T> T await(Future<T> f) throws Exception {
    try {
      return f.toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof Exception ex ? ex : e;
    }
  }

  static JsonObject message(String id, String platform) {
    return new JsonObject().put("id", id).put("type", "message").put("time", Instant.now().toString())
        .put("platform", platform).put("bot", "b").put("text", "hello " + id);
  }

  static JsonObject webhook(String id) {
    return new JsonObject().put("id", id).put("type", "webhook").put("time", Instant.now().toString())
        .put("hook", "ci").put("body", new JsonObject().put("n", id));
  }

  /** Due events of {@code owner}, waiting (bounded) until there are at least {@code n}. */
  List<Due> dueEventually(String owner, int n) throws Exception {
    List<Due> all = new ArrayList<>();
    long deadline = System.currentTimeMillis() + 10_000;
    while (all.size() < n && System.currentTimeMillis() < deadline) {
      all.addAll(await(store.due(owner, LONG, 100)));
      if (all.size() < n) {
        Thread.sleep(50);
      }
    }
    return all;
  }

  @Test
  @DisplayName("an id stored once is a duplicate the second time, and the first body is kept")
  void secondStoreIsDuplicate() throws Exception {
    assertTrue(await(store.store(message("m-1", "dingtalk"), "a", LONG)));
    assertFalse(await(store.store(message("m-1", "dingtalk").put("text", "other"), "b", LONG)));
    Page page = await(store.list(new Query(null, null, 10, null)));
    assertEquals(1, page.data().size());
    assertEquals("hello m-1", page.data().get(0).getString("text"));
  }

  @Test
  @DisplayName("a stored event is its storer's while the lease holds: no one else takes it")
  void storedEventLeasedToStorer() throws Exception {
    await(store.store(message("m-1", "dingtalk"), "a", LONG));
    assertEquals(List.of(), await(store.due("b", LONG, 10)));
  }

  @Test
  @DisplayName("an event whose lease ran out without being handled is due again, counted as another attempt")
  void unhandledEventDueAfterLease() throws Exception {
    JsonObject event = message("m-1", "feishu");
    await(store.store(event, "a", SHORT));
    List<Due> due = dueEventually("b", 1);
    assertEquals(1, due.size());
    assertEquals(event.encode(), due.get(0).event().encode());
    assertEquals(2, due.get(0).attempts());
  }

  @Test
  @DisplayName("a handled event is never due again")
  void handledNeverDue() throws Exception {
    await(store.store(message("m-1", "dingtalk"), "a", SHORT));
    await(store.handled("m-1"));
    Thread.sleep(SHORT.toMillis() * 3);
    assertEquals(List.of(), await(store.due("b", LONG, 10)));
  }

  @Test
  @DisplayName("a retry waits the delay its holder gives, then the event is due")
  void retryAfterDelays() throws Exception {
    await(store.store(message("m-1", "dingtalk"), "a", SHORT));
    await(store.retryAfter("m-1", "a", Duration.ofMillis(1_500)));
    Thread.sleep(SHORT.toMillis() * 3);
    assertEquals(List.of(), await(store.due("b", LONG, 10)), "due before the retry delay passed");
    assertEquals(1, dueEventually("b", 1).size());
  }

  @Test
  @DisplayName("a retry by someone who does not hold the event changes nothing")
  void retryByOtherOwnerIgnored() throws Exception {
    await(store.store(message("m-1", "dingtalk"), "a", SHORT));
    List<Due> taken = dueEventually("b", 1);
    assertEquals(1, taken.size());
    await(store.retryAfter("m-1", "a", Duration.ZERO));
    assertEquals(List.of(), await(store.due("c", LONG, 10)), "a's retry moved b's lease");
  }

  @Test
  @DisplayName("two takers asking at once never both get one event")
  void concurrentTakersSplitEvents() throws Exception {
    for (int i = 0; i < 40; i++) {
      await(store.store(message("m-" + i, "dingtalk"), "gone", Duration.ZERO));
    }
    EventStore other = create();
    try {
      List<Future<List<Due>>> asks = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        asks.add(store.due("a", LONG, 5));
        asks.add(other.due("b", LONG, 5));
      }
      Set<String> seen = new HashSet<>();
      int total = 0;
      for (Future<List<Due>> ask : asks) {
        for (Due d : await(ask)) {
          total++;
          assertTrue(seen.add(d.event().getString("id")), "taken twice: " + d.event().getString("id"));
        }
      }
      assertEquals(40, total);
    } finally {
      await(other.close());
    }
  }

  @Test
  @DisplayName("the list is newest first and pages through every event once with its cursor")
  void listNewestFirstWithCursor() throws Exception {
    for (int i = 0; i < 7; i++) {
      await(store.store(message("m-" + i, "dingtalk"), "a", LONG));
    }
    List<String> ids = new ArrayList<>();
    String cursor = null;
    int pages = 0;
    do {
      Page page = await(store.list(new Query(null, null, 3, cursor)));
      page.data().forEach(e -> ids.add(e.getString("id")));
      cursor = page.nextCursor();
      pages++;
    } while (cursor != null && pages < 10);
    assertEquals(List.of("m-6", "m-5", "m-4", "m-3", "m-2", "m-1", "m-0"), ids);
    assertEquals(3, pages);
  }

  @Test
  @DisplayName("the list filters by type, by platform and by both")
  void listFilters() throws Exception {
    await(store.store(message("d-1", "dingtalk"), "a", LONG));
    await(store.store(message("f-1", "feishu"), "a", LONG));
    await(store.store(webhook("w-1"), "a", LONG));
    assertEquals(List.of("w-1"), ids(new Query("webhook", null, 10, null)));
    assertEquals(List.of("f-1", "d-1"), ids(new Query("message", null, 10, null)));
    assertEquals(List.of("f-1"), ids(new Query(null, "feishu", 10, null)));
    assertEquals(List.of("d-1"), ids(new Query("message", "dingtalk", 10, null)));
    assertEquals(List.of(), ids(new Query("webhook", "dingtalk", 10, null)));
  }

  private List<String> ids(Query q) throws Exception {
    return await(store.list(q)).data().stream().map(e -> e.getString("id")).toList();
  }

  @Test
  @DisplayName("the list says when the rules took an event: null before, a time after")
  void listShowsHandled() throws Exception {
    await(store.store(message("m-1", "dingtalk"), "a", LONG));
    assertNull(await(store.list(new Query(null, null, 10, null))).data().get(0).getValue("handled_at"));
    await(store.handled("m-1"));
    assertNotNull(Instant.parse(await(store.list(new Query(null, null, 10, null))).data().get(0).getString("handled_at")));
  }

  @Test
  @DisplayName("a cursor the server did not give out is a 400")
  void foreignCursorRefused() {
    Exception e = assertThrows(Exception.class, () -> await(store.list(new Query(null, null, 10, "bm90LW91cnM"))));
    assertTrue(e instanceof Failure f && f.status() == 400, String.valueOf(e));
  }

  @Test
  @DisplayName("purge removes events stored before the cutoff, from the list, the due ones and the claims")
  void purgeRemovesOldEvents() throws Exception {
    await(store.store(message("old", "dingtalk"), "a", Duration.ZERO));
    await(store.store(webhook("old-hook"), "a", LONG));
    Thread.sleep(50);
    Instant cutoff = Instant.now();
    Thread.sleep(50);
    await(store.store(message("new", "dingtalk"), "a", LONG));
    assertEquals(2, await(store.purge(cutoff)));
    assertEquals(List.of("new"), ids(new Query(null, null, 10, null)));
    assertEquals(List.of(), ids(new Query("webhook", null, 10, null)));
    assertEquals(List.of(), ids(new Query(null, "dingtalk", 10, null)).stream().filter("old"::equals).toList());
    assertEquals(List.of(), await(store.due("b", LONG, 10)));
    assertTrue(await(store.store(message("old", "dingtalk"), "a", LONG)), "a purged id is new again");
  }

  @Test
  @DisplayName("ping answers while the store is there")
  void pingAnswers() throws Exception {
    await(store.ping());
  }
}
