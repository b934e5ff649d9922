package dev.switchboard.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What every {@link ScheduleStore} does; each implementation runs it against its real store. */
abstract class ScheduleStoreBehaviour {

  static final Instant T0 = Instant.parse("2030-01-01T00:00:00Z");
  static final Instant T1 = Instant.parse("2030-01-01T00:10:00Z");
  static final Instant T2 = Instant.parse("2030-01-01T00:20:00Z");
  static final JsonObject EVERY = new JsonObject().put("every", "10m");

  Vertx vertx;
  ScheduleStore store;

  /** A fresh, empty store; {@link #reopen} gives another handle on the same data. */
  abstract ScheduleStore open(Vertx vertx) throws Exception;

  abstract ScheduleStore reopen(Vertx vertx) throws Exception;

  @BeforeEach
  void openStore() throws Exception {
    vertx = Vertx.vertx();
    store = open(vertx);
    await(store.init());
  }

  @AfterEach
  void closeStore() throws Exception {
    try {
      await(store.close());
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  static <T> T await(Future<T> f) throws Exception {
    return f.await(10, TimeUnit.SECONDS);
  }

  static ScheduleEntry api(String rule, Instant next) {
    return new ScheduleEntry(rule, EVERY, ScheduleEntry.API, new JsonObject().put("name", rule), next, null, 0);
  }

  static ScheduleEntry file(String rule, JsonObject spec, Instant next) {
    return new ScheduleEntry(rule, spec, ScheduleEntry.FILE, null, next, null, 0);
  }

  @Test
  void anAddedScheduleIsListedWithItsDefinition() throws Exception {
    assertTrue(await(store.add(api("report", T0))));
    ScheduleEntry e = await(store.get("report"));
    assertEquals(T0, e.nextFire());
    assertNull(e.lastFire());
    assertEquals(ScheduleEntry.API, e.source());
    assertEquals("report", e.definition().getString("name"));
    assertEquals(EVERY, e.spec());
    assertEquals(List.of("report"), await(store.list()).stream().map(ScheduleEntry::rule).toList());
  }

  @Test
  void aSecondAddOfOneNameIsRefused() throws Exception {
    assertTrue(await(store.add(api("report", T0))));
    assertFalse(await(store.add(api("report", T1))));
    assertEquals(T0, await(store.get("report")).nextFire());
  }

  @Test
  void aRecordedFiringMovesNextAndKeepsItsToken() throws Exception {
    await(store.add(api("report", T0)));
    assertTrue(await(store.fence(3)));
    assertTrue(await(store.record("report", T0, T0, T1, 3)));
    ScheduleEntry e = await(store.get("report"));
    assertEquals(T1, e.nextFire());
    assertEquals(T0, e.lastFire());
    assertEquals(3, e.lastToken());
  }

  @Test
  void oneFiringIsRecordedOnceOfTwoTries() throws Exception {
    await(store.add(api("report", T0)));
    List<Future<Boolean>> tries = List.of(store.record("report", T0, T0, T1, 1), store.record("report", T0, T0, T1, 1));
    await(Future.all(tries));
    assertEquals(1, tries.stream().filter(Future::result).count());
  }

  @Test
  void aDeposedLeaderCannotRecordOnceTheNewOneRaisedTheFence() throws Exception {
    await(store.add(api("report", T0)));
    assertTrue(await(store.fence(1)));
    assertTrue(await(store.fence(2)));
    assertFalse(await(store.fence(1)), "the old leader learns it is deposed");
    assertFalse(await(store.record("report", T0, T0, T1, 1)));
    assertEquals(T0, await(store.get("report")).nextFire());
    assertTrue(await(store.record("report", T0, T0, T1, 2)));
  }

  @Test
  void aFiringByANewerTokenRefusesAnOlderOneAfterIt() throws Exception {
    await(store.add(api("report", T0)));
    assertTrue(await(store.record("report", T0, T0, T1, 5)));
    assertFalse(await(store.record("report", T1, T1, T2, 4)));
    assertEquals(T1, await(store.get("report")).nextFire());
  }

  @Test
  void aSkippedFiringMovesNextButNotLast() throws Exception {
    await(store.add(api("report", T0)));
    assertTrue(await(store.record("report", T0, null, T2, 1)));
    ScheduleEntry e = await(store.get("report"));
    assertEquals(T2, e.nextFire());
    assertNull(e.lastFire());
  }

  @Test
  void theLastFiringOfAnAtLeavesNoNext() throws Exception {
    await(store.add(api("once", T0)));
    assertTrue(await(store.record("once", T0, T0, null, 1)));
    assertNull(await(store.get("once")).nextFire());
    assertFalse(await(store.record("once", null, T1, null, 1)));
  }

  @Test
  void syncReplacesTheFileSchedulesAndKeepsTheUnchangedOnesFiring() throws Exception {
    JsonObject daily = new JsonObject().put("cron", "0 0 9 * * ?");
    await(store.syncFile(List.of(file("daily", daily, T0), file("gone", EVERY, T0))));
    await(store.record("daily", T0, T0, T1, 1));
    await(store.syncFile(List.of(file("daily", daily.copy(), T2), file("fresh", EVERY, T2))));
    List<ScheduleEntry> all = await(store.list());
    assertEquals(List.of("daily", "fresh"), all.stream().map(ScheduleEntry::rule).toList());
    ScheduleEntry d = await(store.get("daily"));
    assertEquals(T1, d.nextFire(), "unchanged: its next firing stays");
    assertEquals(T0, d.lastFire());
    await(store.syncFile(List.of(file("daily", new JsonObject().put("cron", "0 0 10 * * ?"), T2))));
    assertEquals(T2, await(store.get("daily")).nextFire(), "changed: the new spec's next firing");
    assertNull(await(store.get("fresh")));
  }

  @Test
  void syncLeavesTheApiSchedulesAlone() throws Exception {
    await(store.add(api("mine", T0)));
    List<String> taken = await(store.syncFile(List.of(file("mine", new JsonObject().put("every", "1h"), T2))));
    assertEquals(List.of("mine"), taken);
    await(store.syncFile(List.of()));
    ScheduleEntry e = await(store.get("mine"));
    assertEquals(ScheduleEntry.API, e.source());
    assertEquals(EVERY, e.spec());
  }

  @Test
  void deleteRemovesOnlyASourceThatMatches() throws Exception {
    await(store.add(api("mine", T0)));
    await(store.syncFile(List.of(file("daily", EVERY, T0))));
    assertFalse(await(store.delete("daily", ScheduleEntry.API)));
    assertTrue(await(store.delete("mine", ScheduleEntry.API)));
    assertFalse(await(store.delete("mine", ScheduleEntry.API)));
    assertNull(await(store.get("mine")));
    assertEquals(List.of("daily"), await(store.list()).stream().map(ScheduleEntry::rule).toList());
  }

  @Test
  void schedulesAndFiringsOutliveTheStore() throws Exception {
    await(store.add(api("report", T0)));
    await(store.record("report", T0, T0, T1, 7));
    await(store.close());
    store = reopen(vertx);
    await(store.init());
    ScheduleEntry e = await(store.get("report"));
    assertEquals(T1, e.nextFire());
    assertEquals(T0, e.lastFire());
    assertEquals(7, e.lastToken());
    assertFalse(await(store.fence(6)), "the fence outlives it too");
  }
}
