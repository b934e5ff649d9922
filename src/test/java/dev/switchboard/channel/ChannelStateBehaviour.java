package dev.switchboard.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * What the channel component's state promises, whatever the profile keeps it in: inbound claims,
 * delivery records with their leases, and sending windows. The same suite runs against the
 * embedded store ({@link EmbeddedChannelStateTest}) and against Redis ({@link DistributedChannelStateIT}).
 * "Another instance" is a second store object over the same storage with an owner of its own.
 */
abstract class ChannelStateBehaviour {

  static final Duration LONG = Duration.ofMinutes(5);
  static final Duration RETENTION = Duration.ofDays(7);

  Vertx vertx;
  /** Unique per test: Redis keys of one test never meet another's. */
  String run;
  private final List<Deliveries> made = new ArrayList<>();
  private final List<Claims> claimsMade = new ArrayList<>();

  abstract void open() throws Exception;

  abstract void close() throws Exception;

  /** Claims over this test's storage; every call is another instance's view of the same claims. */
  abstract Claims newClaims();

  /** Deliveries over this test's storage, for one owner. */
  abstract Deliveries newDeliveries(String owner, Duration lease, Duration retention);

  /** Sending windows over this test's storage. */
  abstract RateWindows windows();

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    run = UUID.randomUUID().toString().substring(0, 8);
    open();
  }

  @AfterEach
  void stop() throws Exception {
    try {
      close();
    } finally {
      vertx.close().await(20, TimeUnit.SECONDS);
    }
  }

  static <T> T await(Future<T> f) {
    try {
      return f.await(20, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  static void waitUntil(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.currentTimeMillis() + 15_000;
    while (!condition.getAsBoolean()) {
      assertTrue(System.currentTimeMillis() < deadline, "timed out waiting for: " + what);
      Thread.sleep(25);
    }
  }

  Claims claims() {
    Claims c = newClaims();
    if (claimsMade.isEmpty()) {
      await(c.init());
    }
    claimsMade.add(c);
    return c;
  }

  /** The first one made in a test initialises the store (which, embedded, gives back the leases in it). */
  Deliveries deliveries(String owner, Duration lease) {
    return deliveries(owner, lease, RETENTION);
  }

  Deliveries deliveries(String owner, Duration lease, Duration retention) {
    Deliveries d = newDeliveries(owner, lease, retention);
    if (made.isEmpty()) {
      await(d.init());
    }
    made.add(d);
    return d;
  }

  static Deliveries.Opened push(Deliveries d, String task, String channel, String bot) {
    return await(d.open(task, channel, bot, "text of " + task, null, null));
  }

  // ---------------------------------------------------------------------------------------------
  // claims

  @Test
  @DisplayName("claims: a key is taken once within its ttl, by whichever instance asks first, and is free again after it")
  void claimOnceWithinTtl() throws Exception {
    Claims a = claims();
    Claims b = claims();
    String key = "feishu-sig:" + run;
    assertTrue(await(a.claim(key, Duration.ofMillis(300))));
    assertFalse(await(b.claim(key, Duration.ofMillis(300))));
    assertFalse(await(a.claim(key, Duration.ofMillis(300))));
    waitUntil(() -> await(b.claim(key, LONG)), "the claim to expire");
    assertFalse(await(a.claim(key, LONG)));
  }

  @Test
  @DisplayName("claims: keys do not meet")
  void claimsOfOtherKeys() {
    Claims a = claims();
    assertTrue(await(a.claim("hook:ci:1-" + run, LONG)));
    assertTrue(await(a.claim("hook:ci:2-" + run, LONG)));
    assertTrue(await(a.claim("hook:erp:1-" + run, LONG)));
  }

  @Test
  @DisplayName("claims: work in progress makes others wait (busy); once done, everyone sees it done with its value")
  void beginBusyDone() {
    Claims a = claims();
    Claims b = claims();
    String key = "feishu-event:assistant:" + run;
    Claims.Claim mine = await(a.begin(key, LONG));
    assertEquals(Claims.State.TAKEN, mine.state());
    assertEquals(Claims.State.BUSY, await(b.begin(key, LONG)).state());
    assertFalse(await(b.claim(key, LONG)), "a one-step claim does not take a key in progress either");
    await(a.done(key, LONG, "task-42"));
    Claims.Claim seen = await(b.begin(key, LONG));
    assertEquals(Claims.State.DONE, seen.state());
    assertEquals("task-42", seen.value());
  }

  @Test
  @DisplayName("claims: work that failed gives the key back for the next try; a stale holder's release leaves the new holder's claim")
  void releaseGivesBack() throws Exception {
    Claims a = claims();
    Claims b = claims();
    String key = "dingtalk-msg:assistant:" + run;
    Claims.Claim first = await(a.begin(key, LONG));
    await(a.release(key, first.value()));
    Claims.Claim second = await(b.begin(key, Duration.ofMillis(300)));
    assertEquals(Claims.State.TAKEN, second.state(), "free again after the release");
    waitUntil(() -> await(a.begin(key, LONG)).state() == Claims.State.TAKEN, "the second hold to run out and a third to take it");
    await(b.release(key, second.value())); // b's hold ran out: its release must not free a's claim
    assertEquals(Claims.State.BUSY, await(b.begin(key, LONG)).state());
  }

  @Test
  @DisplayName("claims: a hold runs out when its holder never comes back")
  void holdRunsOut() throws Exception {
    Claims a = claims();
    Claims b = claims();
    String key = "feishu-event:assistant:" + run;
    assertEquals(Claims.State.TAKEN, await(a.begin(key, Duration.ofMillis(300))).state());
    waitUntil(() -> await(b.begin(key, LONG)).state() == Claims.State.TAKEN, "the hold to run out");
  }

  @Test
  @DisplayName("claims: a sweep removes expired claims only")
  void sweepKeepsLiveClaims() throws Exception {
    Claims a = claims();
    String live = "live-" + run;
    String expiring = "expiring-" + run;
    assertTrue(await(a.claim(live, LONG)));
    assertTrue(await(a.claim(expiring, Duration.ofMillis(200))));
    Thread.sleep(300);
    assertTrue(await(a.sweep()) >= 0);
    assertFalse(await(a.claim(live, LONG)), "a live claim survives the sweep");
    assertTrue(await(a.claim(expiring, LONG)));
  }

  // ---------------------------------------------------------------------------------------------
  // deliveries

  @Test
  @DisplayName("deliveries: one pending record per task, channel and bot, held by its creator; opening it again finds it")
  void onePerTaskAndBot() {
    Deliveries a = deliveries("a", LONG);
    Deliveries b = deliveries("b", LONG);
    Deliveries.Opened first = push(a, "task-" + run, "dingtalk", "default");
    assertTrue(first.held());
    assertEquals(Deliveries.PENDING, first.record().status());
    assertEquals("task-" + run, first.view().getString("task_id"));
    assertEquals(0, first.view().getInteger("attempts"));
    Deliveries.Opened again = push(a, "task-" + run, "dingtalk", "default");
    assertEquals(first.record().id(), again.record().id());
    assertTrue(again.held(), "its holder still holds it");
    Deliveries.Opened elsewhere = push(b, "task-" + run, "dingtalk", "default");
    assertEquals(first.record().id(), elsewhere.record().id());
    assertFalse(elsewhere.held(), "another instance running the task again does not push it while it is held");
    assertNotEquals(first.record().id(), push(b, "task-" + run, "feishu", "alerts").record().id(), "another bot, another record");
  }

  @Test
  @DisplayName("deliveries: a push without a task gets a record of its own every time")
  void noTaskNoDedup() {
    Deliveries a = deliveries("a", LONG);
    assertNotEquals(push(a, null, "webhook", "erp").record().id(), push(a, null, "webhook", "erp").record().id());
  }

  @Test
  @DisplayName("deliveries: a final outcome is recorded with attempts and response, and nobody holds the record any more")
  void finalOutcome() {
    Deliveries a = deliveries("a", LONG);
    Deliveries b = deliveries("b", Duration.ofMillis(1));
    Deliveries.Opened opened = push(a, "task-" + run, "wecom", "ops");
    JsonObject response = new JsonObject().put("errcode", 0).put("errmsg", "ok");
    assertTrue(await(a.attempted(opened.record().id(), opened.record().fence(), 1, new JsonObject().put("http_status", 502),
        Deliveries.PENDING)));
    assertTrue(await(a.attempted(opened.record().id(), opened.record().fence(), 2, response, Deliveries.DELIVERED)));
    JsonObject view = await(a.view(opened.record().id())).orElseThrow();
    assertEquals(Deliveries.DELIVERED, view.getString("status"));
    assertEquals(2, view.getInteger("attempts"));
    assertEquals(response, view.getJsonObject("response"));
    assertTrue(await(b.takeOver(10)).isEmpty());
    assertFalse(await(a.attempted(opened.record().id(), opened.record().fence(), 3, response, Deliveries.FAILED)),
        "a finished record is not written again");
    assertFalse(push(b, "task-" + run, "wecom", "ops").held(), "a task that runs again does not push a delivered result");
  }

  @Test
  @DisplayName("deliveries: a pending delivery whose holder died is taken over with a new fence; the old holder can neither renew nor record")
  void takeOverAfterLeaseRunsOut() throws Exception {
    Deliveries a = deliveries("a", Duration.ofMillis(300));
    Deliveries b = deliveries("b", LONG);
    Deliveries.Opened opened = push(a, "task-" + run, "webhook", "erp");
    String id = opened.record().id();
    assertTrue(await(b.takeOver(10)).stream().noneMatch(r -> r.id().equals(id)), "not while its lease runs");
    List<Deliveries.Record> taken = new ArrayList<>();
    waitUntil(() -> {
      taken.addAll(await(b.takeOver(10)));
      return taken.stream().anyMatch(r -> r.id().equals(id));
    }, "the lease to run out");
    Deliveries.Record mine = taken.stream().filter(r -> r.id().equals(id)).findFirst().orElseThrow();
    assertNotEquals(opened.record().fence(), mine.fence());
    assertEquals("text of task-" + run, mine.message());
    assertEquals(Deliveries.PENDING, mine.status());
    assertFalse(await(a.renew(Map.of(id, opened.record().fence()))).contains(id));
    assertFalse(await(a.attempted(id, opened.record().fence(), 1, null, Deliveries.DELIVERED)), "fenced out");
    assertTrue(await(b.renew(Map.of(id, mine.fence()))).contains(id));
    assertTrue(await(b.attempted(id, mine.fence(), 1, null, Deliveries.DELIVERED)));
    assertEquals(Deliveries.DELIVERED, await(b.view(id)).orElseThrow().getString("status"));
  }

  @Test
  @DisplayName("deliveries: a task that runs again after its delivery's holder died takes the delivery over")
  void openTakesOverExpired() throws Exception {
    Deliveries a = deliveries("a", Duration.ofMillis(300));
    Deliveries b = deliveries("b", LONG);
    Deliveries.Opened opened = push(a, "task-" + run, "dingtalk", "default");
    waitUntil(() -> push(b, "task-" + run, "dingtalk", "default").held(), "the lease to run out");
    assertFalse(await(a.attempted(opened.record().id(), opened.record().fence(), 1, null, Deliveries.DELIVERED)));
  }

  @Test
  @DisplayName("deliveries: renewing keeps a lease; leases given back are taken over at once")
  void renewAndRelease() throws Exception {
    Deliveries a = deliveries("a", Duration.ofSeconds(2));
    Deliveries b = deliveries("b", LONG);
    Deliveries.Opened one = push(a, "task-1-" + run, "webhook", "erp");
    Deliveries.Opened two = push(a, "task-2-" + run, "webhook", "erp");
    Map<String, Long> leases = Map.of(one.record().id(), one.record().fence(), two.record().id(), two.record().fence());
    long until = System.currentTimeMillis() + 3_000;
    while (System.currentTimeMillis() < until) {
      assertEquals(leases.keySet(), await(a.renew(leases)));
      assertTrue(await(b.takeOver(10)).stream().noneMatch(r -> leases.containsKey(r.id())), "renewed leases are not taken");
      Thread.sleep(200);
    }
    await(a.release(Map.of(one.record().id(), one.record().fence())));
    List<Deliveries.Record> taken = await(b.takeOver(10));
    assertEquals(List.of(one.record().id()), taken.stream().map(Deliveries.Record::id).toList());
  }

  @Test
  @DisplayName("deliveries: taken over oldest first, at most as many as asked for")
  void takeOverOldestFirst() throws Exception {
    Deliveries a = deliveries("a", Duration.ofMillis(200));
    Deliveries b = deliveries("b", LONG);
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      ids.add(push(a, "task-" + i + "-" + run, "webhook", "erp").record().id());
    }
    Thread.sleep(300);
    List<String> first = await(b.takeOver(3)).stream().map(Deliveries.Record::id).toList();
    List<String> rest = await(b.takeOver(3)).stream().map(Deliveries.Record::id).toList();
    assertEquals(ids.subList(0, 3), first);
    assertEquals(ids.subList(3, 5), rest);
  }

  @Test
  @DisplayName("deliveries: only failed or dead ones are retried by hand, and the instance that retries holds them")
  void reopen() throws Exception {
    Deliveries a = deliveries("a", LONG);
    Deliveries b = deliveries("b", LONG);
    Deliveries.Opened failed = push(a, "task-f-" + run, "webhook", "erp");
    Deliveries.Opened dead = push(a, "task-d-" + run, "webhook", "erp");
    Deliveries.Opened delivered = push(a, "task-ok-" + run, "webhook", "erp");
    Deliveries.Opened pending = push(a, "task-p-" + run, "webhook", "erp");
    await(a.attempted(failed.record().id(), failed.record().fence(), 1, null, Deliveries.FAILED));
    await(a.attempted(dead.record().id(), dead.record().fence(), 5, null, Deliveries.DEAD));
    await(a.attempted(delivered.record().id(), delivered.record().fence(), 1, null, Deliveries.DELIVERED));
    Deliveries.Record again = await(b.reopen(failed.record().id())).orElseThrow();
    assertEquals(Deliveries.PENDING, again.status());
    assertEquals(1, again.attempts());
    assertTrue(await(b.renew(Map.of(again.id(), again.fence()))).contains(again.id()), "held by the one who retried");
    assertTrue(await(b.reopen(dead.record().id())).isPresent());
    assertTrue(await(b.reopen(delivered.record().id())).isEmpty());
    assertTrue(await(b.reopen(pending.record().id())).isEmpty());
    assertTrue(await(b.reopen("no-such-" + run)).isEmpty());
    assertEquals(Deliveries.PENDING, await(a.view(failed.record().id())).orElseThrow().getString("status"));
    assertTrue(await(a.view("no-such-" + run)).isEmpty());
  }

  @Test
  @DisplayName("deliveries: listed oldest first by status, channel and bot, a page at a time")
  void listing() {
    Deliveries a = deliveries("a", LONG);
    List<String> erp = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      erp.add(push(a, "t" + i + "-" + run, "webhook", "erp-" + run).record().id());
      push(a, "t" + i + "-" + run, "dingtalk", "erp-" + run);
    }
    Deliveries.Opened ok = push(a, "t9-" + run, "webhook", "erp-" + run);
    await(a.attempted(ok.record().id(), ok.record().fence(), 1, null, Deliveries.DELIVERED));
    JsonObject page1 = await(a.list(Deliveries.PENDING, "webhook", "erp-" + run, 0, 3));
    assertEquals(erp.subList(0, 3), ids(page1.getJsonArray("data")));
    assertTrue(page1.getJsonArray("data").stream().allMatch(o -> "webhook".equals(((JsonObject) o).getString("channel"))));
    long cursor = Long.parseLong(page1.getString("next_cursor"));
    JsonObject page2 = await(a.list(Deliveries.PENDING, "webhook", "erp-" + run, cursor, 3));
    assertEquals(erp.subList(3, 5), ids(page2.getJsonArray("data")));
    assertNull(page2.getValue("next_cursor"));
    assertEquals(List.of(ok.record().id()), ids(await(a.list(Deliveries.DELIVERED, null, "erp-" + run, 0, 100)).getJsonArray("data")));
    assertEquals(11, await(a.list(null, null, "erp-" + run, 0, 100)).getJsonArray("data").size());
    assertEquals(5, await(a.list(null, "dingtalk", "erp-" + run, 0, 100)).getJsonArray("data").size());
    JsonObject view = page1.getJsonArray("data").getJsonObject(0);
    assertEquals(List.of("id", "task_id", "channel", "bot", "status", "attempts", "response", "created_at", "updated_at"),
        new ArrayList<>(view.fieldNames()));
  }

  @Test
  @DisplayName("deliveries: a task's deliveries, oldest first")
  void ofTask() {
    Deliveries a = deliveries("a", LONG);
    String first = push(a, "task-" + run, "dingtalk", "default").record().id();
    String second = push(a, "task-" + run, "feishu", "alerts").record().id();
    push(a, "other-" + run, "feishu", "alerts");
    assertEquals(List.of(first, second), ids(await(a.ofTask("task-" + run))));
    assertTrue(await(a.ofTask("none-" + run)).isEmpty());
  }

  @Test
  @DisplayName("deliveries: native bodies and reply addresses are kept for the push")
  void keepsWhatAPushNeeds() {
    Deliveries a = deliveries("a", LONG);
    JsonObject address = new JsonObject().put("message_id", "om_1").put("chat_id", "oc_1");
    JsonObject body = new JsonObject().put("msgtype", "markdown").put("markdown", new JsonObject().put("text", "{result}"));
    Deliveries.Record r = await(a.open("task-" + run, "feishu", "assistant", "答案", address, body)).record();
    assertEquals("答案", r.message());
    assertEquals(address, r.address());
    assertEquals(body, r.body());
  }

  @Test
  @DisplayName("deliveries: finished ones past the retention are removed; pending ones stay")
  void retention() throws Exception {
    Deliveries a = deliveries("a", LONG, Duration.ofMillis(50));
    Deliveries.Opened done = push(a, "task-" + run, "webhook", "erp");
    Deliveries.Opened waiting = push(a, "task-" + run, "webhook", "other");
    await(a.attempted(done.record().id(), done.record().fence(), 1, null, Deliveries.DELIVERED));
    waitUntil(() -> {
      await(a.sweep());
      return await(a.view(done.record().id())).isEmpty();
    }, "the sweep");
    assertTrue(await(a.view(waiting.record().id())).isPresent());
    assertEquals(List.of(waiting.record().id()), ids(await(a.ofTask("task-" + run))));
    List<String> listed = ids(await(a.list(null, "webhook", null, 0, 100)).getJsonArray("data"));
    assertTrue(listed.contains(waiting.record().id()) && !listed.contains(done.record().id()), listed.toString());
    assertNotEquals(done.record().id(), push(a, "task-" + run, "webhook", "erp").record().id(),
        "the task's push to that bot is forgotten with it");
  }

  static List<String> ids(JsonArray views) {
    return views.stream().map(o -> ((JsonObject) o).getString("id")).toList();
  }

  // ---------------------------------------------------------------------------------------------
  // sending windows

  @Test
  @DisplayName("windows: as many as a window holds go at once; the next is told to wait, at most the window")
  void windowHolds() {
    RateWindows.Window w = windows().window("webhook/erp-" + run, List.of(new Bot.RateLimit(3, Duration.ofSeconds(1))));
    assertEquals(0L, await(w.take()));
    assertEquals(0L, await(w.take()));
    assertEquals(0L, await(w.take()));
    long wait = await(w.take());
    assertTrue(wait > 0 && wait <= 1050, "wait " + wait);
    assertTrue(await(w.take()) > 0, "a refused take counts nothing, and changes nothing");
  }

  @Test
  @DisplayName("windows: every window holds: a short one makes a message wait while the long one has room")
  void everyWindow() {
    RateWindows.Window w = windows().window("dingtalk/default-" + run,
        List.of(new Bot.RateLimit(20, Duration.ofMinutes(1)), new Bot.RateLimit(2, Duration.ofMillis(400))));
    assertEquals(0L, await(w.take()));
    assertEquals(0L, await(w.take()));
    long wait = await(w.take());
    assertTrue(wait > 0 && wait <= 420, "wait " + wait);
  }

  @Test
  @DisplayName("windows: once the wait is over, the next message goes")
  void waitEnds() throws Exception {
    RateWindows.Window w = windows().window("wecom/ops-" + run, List.of(new Bot.RateLimit(1, Duration.ofMillis(200))));
    assertEquals(0L, await(w.take()));
    long wait = await(w.take());
    Thread.sleep(wait + 20);
    assertEquals(0L, await(w.take()));
  }

  @Test
  @DisplayName("windows: the platform's pause holds the key, and only that key")
  void pauseHolds() {
    RateWindows windows = windows();
    RateWindows.Window held = windows.window("feishu/alerts-" + run, List.of(new Bot.RateLimit(100, Duration.ofSeconds(1))));
    RateWindows.Window other = windows.window("feishu/other-" + run, List.of(new Bot.RateLimit(100, Duration.ofSeconds(1))));
    await(held.pause(800));
    long wait = await(held.take());
    assertTrue(wait > 0 && wait <= 800, "wait " + wait);
    assertEquals(0L, await(other.take()));
  }

  @Test
  @DisplayName("windows: the windows of one key count the same sends")
  void sameKeySameCount() {
    RateWindows windows = windows();
    List<Bot.RateLimit> limit = List.of(new Bot.RateLimit(2, Duration.ofSeconds(1)));
    RateWindows.Window one = windows.window("webhook/shared-" + run, limit);
    RateWindows.Window two = windows.window("webhook/shared-" + run, limit);
    assertEquals(0L, await(one.take()));
    assertEquals(0L, await(two.take()));
    assertTrue(await(one.take()) > 0);
    assertTrue(await(two.take()) > 0);
  }
}
