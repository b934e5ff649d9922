package dev.switchboard.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * What every {@link AuditLog} does, whatever keeps it: run on the file ({@link EmbeddedAuditLogTest})
 * and on PostgreSQL ({@code PgAuditLogIT}).
 */
abstract class AuditLogBehaviour {

  protected Vertx vertx;
  protected AuditLog log;

  /** A store on fresh, empty storage; called again for "another instance" on the same storage. */
  protected abstract AuditLog open();

  /** Changes one byte of the stored record {@code seq}, behind the store's back. */
  protected abstract void changeOneByte(long seq) throws Exception;

  @BeforeEach
  void openStore() throws Exception {
    vertx = Vertx.vertx();
    prepare();
    log = open();
  }

  /** Storage for this test (a folder, a schema). */
  protected void prepare() throws Exception {
  }

  @AfterEach
  void closeStore() throws Exception {
    if (log != null) {
      log.close().await(10, TimeUnit.SECONDS);
    }
    cleanUp();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  protected void cleanUp() throws Exception {
  }

  static <T> T await(Future<T> f) throws Exception {
    return f.await(20, TimeUnit.SECONDS);
  }

  static AuditEvent event(String subject, String action, String target) {
    return AuditEvent.of(subject, action, target, "ok").size("request_bytes", 12).detail("status", "200");
  }

  private List<AuditRecord> all() throws Exception {
    return await(log.query(new AuditLog.Query(null, null, 0, 1000, Long.MAX_VALUE))).data();
  }

  @Test
  @DisplayName("records are numbered in order and each holds the hash of the one before")
  void recordsAreChainedInOrder() throws Exception {
    await(log.append(List.of(event("alice", "a.one", "1"), event("bob", "a.two", "2"))));
    await(log.append(List.of(event("carol", "a.three", "3"))));

    List<AuditRecord> newestFirst = all();
    assertEquals(List.of(3L, 2L, 1L), newestFirst.stream().map(AuditRecord::seq).toList());
    assertEquals(List.of("a.three", "a.two", "a.one"), newestFirst.stream().map(r -> r.event().action()).toList());
    assertEquals(AuditRecord.GENESIS, newestFirst.get(2).prev());
    assertEquals(newestFirst.get(2).hash(), newestFirst.get(1).prev());
    assertEquals(newestFirst.get(1).hash(), newestFirst.get(0).prev());
    assertEquals(12L, newestFirst.get(0).event().sizes().get("request_bytes"));
    assertEquals("200", newestFirst.get(0).event().details().get("status"));
  }

  @Test
  @DisplayName("an intact chain verifies, with the number of its records")
  void intactChainVerifies() throws Exception {
    assertTrue(await(log.verify()).intact(), "an empty log is intact");
    for (int i = 0; i < 5; i++) {
      await(log.append(List.of(event("alice", "a", Integer.toString(i)))));
    }
    AuditLog.Verification v = await(log.verify());
    assertTrue(v.intact(), v.describe());
    assertEquals(5, v.records());
    assertEquals("chain intact, 5 records", v.describe());
  }

  @Test
  @DisplayName("one changed byte breaks the chain, and verify names that record")
  void changedByteIsNamed() throws Exception {
    for (int i = 1; i <= 5; i++) {
      await(log.append(List.of(event("alice", "a", "target-" + i))));
    }
    changeOneByte(3);

    AuditLog.Verification v = await(log.verify());
    assertFalse(v.intact());
    assertEquals(3, v.brokenSeq(), v.describe());
    assertEquals(2, v.records(), "the records before it hold");
    assertTrue(v.describe().startsWith("chain broken at record 3: "), v.describe());
  }

  @Test
  @DisplayName("an event appended again (its answer was lost) is stored once")
  void repeatedEventIsStoredOnce() throws Exception {
    AuditEvent once = event("alice", "a", "x");
    await(log.append(List.of(once)));
    List<AuditRecord> again = await(log.append(List.of(once, event("bob", "b", "y"))));

    assertEquals(1, again.size(), "only the new event");
    assertEquals(List.of(2L, 1L), all().stream().map(AuditRecord::seq).toList());
    assertTrue(await(log.verify()).intact());
  }

  @Test
  @DisplayName("an event appended again after a restart (stored, but its spool line not yet taken off) is stored once")
  void repeatedEventAfterReopenIsStoredOnce() throws Exception {
    AuditEvent once = event("alice", "a", "x");
    await(log.append(List.of(once)));
    await(log.close());
    log = open();
    List<AuditRecord> again = await(log.append(List.of(once, event("bob", "b", "y"))));

    assertEquals(1, again.size(), "only the new event");
    assertEquals(List.of(2L, 1L), all().stream().map(AuditRecord::seq).toList());
    assertTrue(await(log.verify()).intact());
  }

  @Test
  @DisplayName("a listing filters by subject, action and time")
  void listingFilters() throws Exception {
    AuditEvent old = new AuditEvent("old-1", 1_000, "alice", "task.submitted", "t0", "ok", "", null, null);
    await(log.append(List.of(old, event("alice", "task.submitted", "t1"), event("bob", "task.submitted", "t2"),
        event("alice", "memory.write", "m1"))));

    assertEquals(List.of("m1", "t1", "t0"), targets(new AuditLog.Query("alice", null, 0, 100, Long.MAX_VALUE)));
    assertEquals(List.of("t2", "t1", "t0"), targets(new AuditLog.Query(null, "task.submitted", 0, 100, Long.MAX_VALUE)));
    assertEquals(List.of("t1"), targets(new AuditLog.Query("alice", "task.submitted", 2_000, 100, Long.MAX_VALUE)));
  }

  @Test
  @DisplayName("a listing is paged newest first: each page continues below the last")
  void listingPages() throws Exception {
    for (int i = 1; i <= 5; i++) {
      await(log.append(List.of(event("alice", "a", "t" + i))));
    }
    AuditLog.Page first = await(log.query(new AuditLog.Query(null, null, 0, 2, Long.MAX_VALUE)));
    assertEquals(List.of(5L, 4L), first.data().stream().map(AuditRecord::seq).toList());
    AuditLog.Page second = await(log.query(new AuditLog.Query(null, null, 0, 2, first.next())));
    assertEquals(List.of(3L, 2L), second.data().stream().map(AuditRecord::seq).toList());
    AuditLog.Page last = await(log.query(new AuditLog.Query(null, null, 0, 2, second.next())));
    assertEquals(List.of(1L), last.data().stream().map(AuditRecord::seq).toList());
    assertEquals(0, last.next(), "no page after the last");
  }

  @Test
  @DisplayName("a store opened again on the same storage chains after the last record")
  void reopenedStoreContinuesTheChain() throws Exception {
    await(log.append(List.of(event("alice", "a", "1"), event("alice", "a", "2"))));
    await(log.close());
    log = open();
    await(log.append(List.of(event("alice", "a", "3"))));

    assertEquals(List.of(3L, 2L, 1L), all().stream().map(AuditRecord::seq).toList());
    AuditLog.Verification v = await(log.verify());
    assertTrue(v.intact(), v.describe());
    assertEquals(3, v.records());
  }

  private List<String> targets(AuditLog.Query q) throws Exception {
    return await(log.query(q)).data().stream().map(r -> r.event().target()).toList();
  }
}
