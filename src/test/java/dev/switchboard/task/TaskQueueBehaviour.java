package dev.switchboard.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.bus.Failure;
import dev.switchboard.bus.TaskSubmission.Priority;
import dev.switchboard.task.TaskQueue.Change;
import dev.switchboard.task.TaskQueue.Changed;
import dev.switchboard.task.TaskQueue.Fenced;
import dev.switchboard.task.TaskQueue.Lease;
import dev.switchboard.task.TaskQueue.NewTask;
import dev.switchboard.task.TaskQueue.Page;
import dev.switchboard.task.TaskQueue.Stats;
import dev.switchboard.task.TaskQueue.Task;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What the task queue promises, whatever stores it: the same suite runs against the embedded
 * SQLite store ({@link EmbeddedTaskQueueTest}) and against Redis Streams ({@link RedisTaskQueueIT}).
 * Leases that are meant to expire use a visibility of a few hundred milliseconds; waits are for
 * states ("until it is reclaimed"), bounded generously, never for a precise time.
 */
@ExtendWith(VertxExtension.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
abstract class TaskQueueBehaviour {

  static final Duration LONG = Duration.ofMinutes(1);
  static final Duration SHORT = Duration.ofMillis(250);

  Vertx vertx;
  TaskQueue queue;
  /** queue.max_lost of the queues create() opens; a test sets it, then restarts. */
  int maxLost = QueueSettings.DEFAULT_MAX_LOST;
  private final List<TaskQueue> opened = new ArrayList<>();

  /** A queue on this test's store (the same store each time within a test). */
  abstract TaskQueue create() throws Exception;

  /** After every queue this test opened is closed: whatever else the store needs to be closed. */
  void closeStore() throws Exception {
  }

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    this.vertx = vertx;
    queue = open();
  }

  @AfterEach
  void stop() throws Exception {
    closeQueues();
    closeStore();
  }

  TaskQueue open() throws Exception {
    TaskQueue q = create();
    opened.add(q);
    return q;
  }

  /** The process stops and starts again on the same store. */
  TaskQueue restart() throws Exception {
    closeQueues();
    closeStore();
    queue = open();
    return queue;
  }

  private void closeQueues() throws Exception {
    for (TaskQueue q : opened) {
      q.close().await(10, TimeUnit.SECONDS);
    }
    opened.clear();
  }

  // ---------------------------------------------------------------------------------------------
  // helpers

  static <T> T await(Future<T> f) throws Exception {
    return f.await(10, TimeUnit.SECONDS);
  }

  static Failure failure(Future<?> f) {
    Throwable t = assertThrows(Throwable.class, () -> await(f));
    if (t instanceof Failure failure) {
      return failure;
    }
    throw new AssertionError("expected a Failure, got " + t, t);
  }

  static NewTask task(String input) {
    return task(input, Priority.NORMAL);
  }

  static NewTask task(String input, Priority priority) {
    return new NewTask(spec(input), priority, 0, 3, "alice", null);
  }

  static NewTask withAttempts(String input, int maxAttempts) {
    return new NewTask(spec(input), Priority.NORMAL, 0, maxAttempts, "alice", null);
  }

  static NewTask at(String input, long runAt) {
    return new NewTask(spec(input), Priority.NORMAL, runAt, 3, "alice", null);
  }

  static JsonObject spec(String input) {
    return new JsonObject().put("input", input).put("channels", new JsonArray().add(new JsonObject()
        .put("type", "dingtalk").put("bot", "default")));
  }

  Task submit(NewTask t) throws Exception {
    return await(queue.submit(t)).task();
  }

  List<Lease> lease(String worker, int max, Duration visibility) throws Exception {
    return await(queue.lease(worker, max, visibility));
  }

  Lease leaseOne(String worker, Duration visibility) throws Exception {
    List<Lease> leases = lease(worker, 1, visibility);
    assertEquals(1, leases.size(), "one task leased");
    return leases.get(0);
  }

  Task get(String id) throws Exception {
    return await(queue.get(id)).orElseThrow(() -> new AssertionError("no task " + id));
  }

  static String input(Lease lease) {
    return lease.task().spec().getString("input");
  }

  static String input(Task task) {
    return task.spec().getString("input");
  }

  /** Waits out a lease, then reclaims until the task is no longer running (bounded). */
  void expire(Lease lease) throws Exception {
    Thread.sleep(Math.max(0, lease.until() - System.currentTimeMillis()) + 50);
    long deadline = System.currentTimeMillis() + 5_000;
    while (TaskQueue.RUNNING.equals(get(lease.task().id()).status())) {
      assertTrue(System.currentTimeMillis() < deadline, "the expired lease of " + lease.task().id() + " was reclaimed");
      await(queue.reclaim());
      Thread.sleep(20);
    }
  }

  /** Leases one task as soon as one is runnable, waiting with awaitWork (bounded). */
  Lease leaseWhenDue(String worker, Duration visibility) throws Exception {
    long deadline = System.currentTimeMillis() + 5_000;
    while (true) {
      List<Lease> leases = lease(worker, 1, visibility);
      if (!leases.isEmpty()) {
        return leases.get(0);
      }
      assertTrue(System.currentTimeMillis() < deadline, "a task came due");
      // longer than the test may wait: only a wake-up for the due task ends it in time
      await(queue.awaitWork(30_000));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // submit

  @Test
  @DisplayName("a submitted task is stored as given: queued, no attempts, its spec, priority and subject")
  void submitStores() throws Exception {
    long before = System.currentTimeMillis();
    TaskQueue.Submitted s = await(queue.submit(new NewTask(spec("总结今天的告警"), Priority.HIGH, 0, 5, "alice", null)));
    assertTrue(s.created());
    Task stored = get(s.task().id());
    assertEquals(TaskQueue.QUEUED, stored.status());
    assertEquals(0, stored.attempts());
    assertEquals(5, stored.maxAttempts());
    assertEquals(Priority.HIGH, stored.priority());
    assertEquals("alice", stored.subject());
    assertEquals(spec("总结今天的告警"), stored.spec());
    assertTrue(stored.createdAt() >= before - 1000 && stored.runAt() >= stored.createdAt(), stored.toString());
    assertNull(stored.result());
    assertNull(stored.error());
  }

  @Test
  @DisplayName("an idempotency key answers the first task to its subject, and is another task for another subject")
  void idempotentPerSubject() throws Exception {
    NewTask first = new NewTask(spec("一"), Priority.NORMAL, 0, 3, "alice", "key-1");
    TaskQueue.Submitted a = await(queue.submit(first));
    TaskQueue.Submitted again = await(queue.submit(new NewTask(spec("二"), Priority.HIGH, 0, 3, "alice", "key-1")));
    TaskQueue.Submitted bob = await(queue.submit(new NewTask(spec("三"), Priority.NORMAL, 0, 3, "bob", "key-1")));
    TaskQueue.Submitted nobody = await(queue.submit(new NewTask(spec("四"), Priority.NORMAL, 0, 3, null, "key-1")));
    assertTrue(a.created());
    assertEquals(false, again.created());
    assertEquals(a.task().id(), again.task().id());
    assertEquals("一", input(again.task()), "the first task is answered, not the second submission");
    assertTrue(bob.created());
    assertNotEquals(a.task().id(), bob.task().id());
    assertTrue(nobody.created());
    assertEquals(3, await(queue.list(null, null, 10, null)).tasks().size());
  }

  @Test
  @DisplayName("the same key submitted many times at once makes one task")
  void idempotentUnderConcurrency() throws Exception {
    List<Future<TaskQueue.Submitted>> all = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      all.add(queue.submit(new NewTask(spec("同一个"), Priority.NORMAL, 0, 3, "alice", "same")));
    }
    Set<String> ids = new HashSet<>();
    int created = 0;
    for (Future<TaskQueue.Submitted> f : all) {
      TaskQueue.Submitted s = await(f);
      ids.add(s.task().id());
      created += s.created() ? 1 : 0;
    }
    assertEquals(1, ids.size());
    assertEquals(1, created);
  }

  // ---------------------------------------------------------------------------------------------
  // lease order and priorities

  @Test
  @DisplayName("tasks of one priority are leased in the order they were submitted, each once")
  void fifoWithinPriority() throws Exception {
    for (String s : List.of("a", "b", "c", "d")) {
      submit(task(s));
    }
    List<String> order = new ArrayList<>();
    order.add(input(leaseOne("w1", LONG)));
    lease("w2", 2, LONG).forEach(l -> order.add(input(l)));
    order.add(input(leaseOne("w1", LONG)));
    assertEquals(List.of("a", "b", "c", "d"), order);
    assertTrue(lease("w1", 5, LONG).isEmpty(), "nothing left to lease");
  }

  @Test
  @DisplayName("a lease is running, counts the attempt and names its worker, with a token and a deadline")
  void leaseMarksRunning() throws Exception {
    Task t = submit(task("x"));
    long before = System.currentTimeMillis();
    Lease lease = leaseOne("worker-7", LONG);
    assertEquals(t.id(), lease.task().id());
    assertEquals("worker-7", lease.worker());
    assertNotNull(lease.token());
    assertTrue(lease.until() >= before + LONG.toMillis() - 1000, "until " + lease.until());
    assertEquals(TaskQueue.RUNNING, lease.task().status());
    assertEquals(1, lease.task().attempts());
    assertEquals(TaskQueue.RUNNING, get(t.id()).status());
  }

  @Test
  @DisplayName("with all three priorities waiting, leases go 6:3:1 to high, normal and low")
  void weightedPriorities() throws Exception {
    for (int i = 0; i < 30; i++) {
      submit(task("h" + i, Priority.HIGH));
      submit(task("n" + i, Priority.NORMAL));
      submit(task("l" + i, Priority.LOW));
    }
    Map<Priority, Integer> counts = new EnumMap<>(Priority.class);
    for (int i = 0; i < 20; i++) {
      counts.merge(leaseOne("w", LONG).task().priority(), 1, Integer::sum);
    }
    assertEquals(Map.of(Priority.HIGH, 12, Priority.NORMAL, 6, Priority.LOW, 2), counts);
    // the same in one call that takes many
    Map<Priority, Integer> batch = new EnumMap<>(Priority.class);
    lease("w", 10, LONG).forEach(l -> batch.merge(l.task().priority(), 1, Integer::sum));
    assertEquals(Map.of(Priority.HIGH, 6, Priority.NORMAL, 3, Priority.LOW, 1), batch);
  }

  @Test
  @DisplayName("low priority is not starved: with 100 high and 10 low waiting, low is leased within the first leases")
  void noStarvation() throws Exception {
    for (int i = 0; i < 100; i++) {
      submit(task("h" + i, Priority.HIGH));
    }
    for (int i = 0; i < 10; i++) {
      submit(task("l" + i, Priority.LOW));
    }
    List<Priority> order = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      order.add(leaseOne("w", LONG).task().priority());
    }
    assertTrue(order.subList(0, 10).contains(Priority.LOW), "a low task within the first 10 leases: " + order);
    assertTrue(order.stream().filter(p -> p == Priority.LOW).count() >= 2, "low keeps its share: " + order);
    assertTrue(order.stream().filter(p -> p == Priority.HIGH).count() >= 15, "high is served most: " + order);
  }

  @Test
  @DisplayName("with only some priorities waiting, they take every lease")
  void somePrioritiesTakeAll() throws Exception {
    for (int i = 0; i < 5; i++) {
      submit(task("l" + i, Priority.LOW));
    }
    for (int i = 0; i < 3; i++) {
      submit(task("n" + i, Priority.NORMAL));
    }
    assertEquals(8, lease("w", 10, LONG).size());
  }

  // ---------------------------------------------------------------------------------------------
  // delay and run_at

  @Test
  @DisplayName("a delayed task is not leased before its time, and a waiting worker is woken for it when it is due")
  void delayRespected() throws Exception {
    long runAt = System.currentTimeMillis() + 1_000;
    Task t = submit(at("later", runAt));
    assertEquals(runAt, t.runAt());
    assertTrue(lease("w", 5, LONG).isEmpty(), "not leased before its time");
    Lease lease = leaseWhenDue("w", LONG);
    assertTrue(System.currentTimeMillis() >= runAt, "leased at its time, not before");
    assertEquals(t.id(), lease.task().id());
  }

  @Test
  @DisplayName("a run_at in the past runs now, and delayed tasks come due in the order of their times")
  void runAtOrder() throws Exception {
    long now = System.currentTimeMillis();
    submit(at("second", now + 1_600));
    submit(at("first", now + 1_000));
    submit(at("overdue", now - 60_000));
    List<Lease> now1 = lease("w", 5, LONG);
    assertEquals(List.of("overdue"), now1.stream().map(TaskQueueBehaviour::input).toList());
    assertEquals("first", input(leaseWhenDue("w", LONG)));
    assertEquals("second", input(leaseWhenDue("w", LONG)));
  }

  // ---------------------------------------------------------------------------------------------
  // leases: extend, expiry, takeover, poison

  @Test
  @DisplayName("extend keeps a lease: reclaim leaves it, nobody else leases it, and its worker completes it")
  void extendKeepsLease() throws Exception {
    Task t = submit(task("long job"));
    Lease lease = leaseOne("w1", SHORT);
    assertEquals(Fenced.OK, await(queue.extend(lease, LONG)));
    Thread.sleep(Math.max(0, lease.until() - System.currentTimeMillis()) + 150);
    assertEquals(0, await(queue.reclaim()));
    assertTrue(lease("w2", 1, LONG).isEmpty(), "still held by w1");
    assertEquals(Fenced.OK, await(queue.extend(lease, LONG)));
    assertEquals(Fenced.OK, await(queue.complete(lease)));
    assertEquals(TaskQueue.SUCCEEDED, get(t.id()).status());
  }

  @Test
  @DisplayName("an expired lease is reclaimed and leased by a second worker; the first then gets LEASE_LOST for every change")
  void expiredLeaseTakenOver() throws Exception {
    Task t = submit(task("job"));
    Lease first = leaseOne("w1", SHORT);
    expire(first);
    assertEquals(TaskQueue.QUEUED, get(t.id()).status());
    Lease second = leaseOne("w2", LONG);
    assertEquals(t.id(), second.task().id());
    assertEquals(1, second.task().attempts(), "the lost run is counted in lost, not in attempts");
    assertEquals(1, second.task().lost());
    assertNotEquals(first.token(), second.token());

    assertEquals(Fenced.LEASE_LOST, await(queue.extend(first, LONG)));
    assertEquals(Fenced.LEASE_LOST, await(queue.saveResult(first, "stale")));
    assertEquals(Fenced.LEASE_LOST, await(queue.complete(first)));
    assertEquals(Fenced.LEASE_LOST, await(queue.fail(first, "stale", 0)));
    assertEquals(Fenced.LEASE_LOST, await(queue.release(first)));
    Task held = get(t.id());
    assertEquals(TaskQueue.RUNNING, held.status(), "still the second worker's");
    assertNull(held.result());

    assertEquals(Fenced.OK, await(queue.saveResult(second, "fresh")));
    assertEquals(Fenced.OK, await(queue.complete(second)));
    Task done = get(t.id());
    assertEquals(TaskQueue.SUCCEEDED, done.status());
    assertEquals("fresh", done.result());
  }

  @Test
  @DisplayName("a lease that expired but was not taken over can still be completed by its worker")
  void expiredButNotReclaimed() throws Exception {
    Task t = submit(task("slow"));
    Lease lease = leaseOne("w1", SHORT);
    Thread.sleep(Math.max(0, lease.until() - System.currentTimeMillis()) + 50);
    assertEquals(Fenced.OK, await(queue.complete(lease)));
    assertEquals(TaskQueue.SUCCEEDED, get(t.id()).status());
  }

  @Test
  @DisplayName("a run whose worker was lost uses no attempt: a task with one attempt is queued again, the loss counted in lost")
  void lostRunUsesNoAttempt() throws Exception {
    Task t = submit(withAttempts("its gateway was killed", 1));
    expire(leaseOne("w1", SHORT));
    Task back = get(t.id());
    assertEquals(TaskQueue.QUEUED, back.status());
    assertEquals(0, back.attempts());
    assertEquals(1, back.lost());
    Lease again = leaseOne("w2", LONG);
    assertEquals(1, again.task().attempts());
    assertEquals(1, again.task().lost());
    assertEquals(Fenced.OK, await(queue.saveResult(again, "done")));
    assertEquals(Fenced.OK, await(queue.complete(again)));
    assertEquals(TaskQueue.SUCCEEDED, get(t.id()).status());
  }

  @Test
  @DisplayName("lost runs do not hide failed ones: the attempts left for retries are those the task failed itself")
  void lostAndFailedRuns() throws Exception {
    Task t = submit(withAttempts("flaky upstream, flaky gateway", 2));
    Lease first = leaseOne("w1", LONG);
    assertEquals(Fenced.OK, await(queue.fail(first, "upstream 503", System.currentTimeMillis())));
    expire(leaseWhenDue("w2", SHORT));
    Task afterLoss = get(t.id());
    assertEquals(1, afterLoss.attempts());
    assertEquals(1, afterLoss.lost());
    Lease last = leaseWhenDue("w3", LONG);
    assertEquals(2, last.task().attempts());
    assertEquals(Fenced.OK, await(queue.fail(last, "upstream 503", System.currentTimeMillis())));
    Task dead = get(t.id());
    assertEquals(TaskQueue.FAILED, dead.status(), "two failed runs use up two attempts; the lost one is not one of them");
    assertEquals("upstream 503", dead.error());
  }

  @Test
  @DisplayName("a task whose worker is lost on every run fails as poison once it lost queue.max_lost workers")
  void poisonFails() throws Exception {
    maxLost = 2;
    restart();
    Task t = submit(withAttempts("poison", 3));
    expire(leaseOne("w1", SHORT));
    Task after1 = get(t.id());
    assertEquals(TaskQueue.QUEUED, after1.status());
    assertEquals(1, after1.lost());
    expire(leaseOne("w2", SHORT));
    Task dead = get(t.id());
    assertEquals(TaskQueue.FAILED, dead.status());
    assertEquals("worker lost 2 times (queue.max_lost)", dead.error());
    assertEquals(2, dead.lost());
    assertEquals(0, dead.attempts(), "it never failed itself");
    assertTrue(lease("w3", 1, LONG).isEmpty(), "a poison task is not leased again");
    Changed retried = await(queue.retry(t.id()));
    assertEquals(Change.DONE, retried.change());
    assertEquals(0, get(t.id()).lost(), "a retry by hand starts the count again");
  }

  @Test
  @DisplayName("reclaim run by several callers at once puts each expired task back once")
  void reclaimConcurrently() throws Exception {
    for (int i = 0; i < 5; i++) {
      submit(task("t" + i));
    }
    List<Lease> leases = lease("w1", 5, SHORT);
    assertEquals(5, leases.size());
    Thread.sleep(Math.max(0, leases.get(4).until() - System.currentTimeMillis()) + 50);
    List<Future<Integer>> runs = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      runs.add(queue.reclaim());
    }
    int total = 0;
    for (Future<Integer> r : runs) {
      total += await(r);
    }
    assertEquals(5, total, "each expired lease reclaimed once");
    List<Lease> again = lease("w2", 10, LONG);
    assertEquals(5, again.size(), "each task back in line once");
    assertEquals(5, again.stream().map(l -> l.task().id()).distinct().count());
  }

  // ---------------------------------------------------------------------------------------------
  // fail, retry-at, results, release

  @Test
  @DisplayName("fail with a retry time queues the task again for then, its attempts and error kept")
  void failRetryAt() throws Exception {
    Task t = submit(task("flaky"));
    Lease first = leaseOne("w", LONG);
    long retryAt = System.currentTimeMillis() + 1_000;
    assertEquals(Fenced.OK, await(queue.fail(first, "upstream 503", retryAt)));
    Task waiting = get(t.id());
    assertEquals(TaskQueue.QUEUED, waiting.status());
    assertEquals(1, waiting.attempts());
    assertEquals("upstream 503", waiting.error());
    assertTrue(lease("w", 1, LONG).isEmpty(), "not before its retry time");
    Lease second = leaseWhenDue("w", LONG);
    assertTrue(System.currentTimeMillis() >= retryAt);
    assertEquals(2, second.task().attempts());
    assertEquals(Fenced.LEASE_LOST, await(queue.complete(first)), "the first lease ended with its failure");
  }

  @Test
  @DisplayName("fail with a retry time when the attempts are used up fails the task for good")
  void failRetryAtExhausted() throws Exception {
    Task t = submit(withAttempts("flaky", 2));
    assertEquals(Fenced.OK, await(queue.fail(leaseOne("w", LONG), "one", System.currentTimeMillis())));
    Lease last = leaseWhenDue("w", LONG);
    assertEquals(2, last.task().attempts());
    assertEquals(Fenced.OK, await(queue.fail(last, "two", System.currentTimeMillis() + 100)));
    Task failed = get(t.id());
    assertEquals(TaskQueue.FAILED, failed.status());
    assertEquals("two", failed.error());
    assertEquals(2, failed.attempts());
  }

  @Test
  @DisplayName("fail without a retry time fails the task for good")
  void failFinal() throws Exception {
    Task t = submit(task("bad request"));
    assertEquals(Fenced.OK, await(queue.fail(leaseOne("w", LONG), "400 from the model", 0)));
    Task failed = get(t.id());
    assertEquals(TaskQueue.FAILED, failed.status());
    assertEquals("400 from the model", failed.error());
  }

  @Test
  @DisplayName("a result saved before the lease was lost is there when the task is leased again")
  void savedResultSurvivesReLease() throws Exception {
    Task t = submit(task("expensive"));
    Lease first = leaseOne("w1", SHORT);
    assertEquals(Fenced.OK, await(queue.saveResult(first, "模型的回答")));
    assertEquals("模型的回答", get(t.id()).result(), "stored while still running");
    expire(first);
    Lease again = leaseOne("w2", LONG);
    assertEquals("模型的回答", again.task().result());
  }

  static JsonArray trace(String model, String skill) {
    return new JsonArray()
        .add(new JsonObject().put("type", "model").put("model", model).put("provider", "p").put("total_tokens", 12))
        .add(new JsonObject().put("type", "tool").put("skill", skill).put("arguments", new JsonObject().put("q", "天气"))
            .put("result_bytes", 42));
  }

  @Test
  @DisplayName("the trace saved with the result is the task's when it completes, and after a restart")
  void traceSavedWithResultSurvives() throws Exception {
    Task t = submit(task("traced"));
    assertNull(t.trace(), "a new task has no trace");
    Lease lease = leaseOne("w", LONG);
    assertEquals(Fenced.OK, await(queue.saveResult(lease, "answer", trace("m1", "recall"))));
    assertEquals(Fenced.OK, await(queue.complete(lease)));
    assertEquals(trace("m1", "recall"), get(t.id()).trace());
    restart();
    Task done = get(t.id());
    assertEquals(TaskQueue.SUCCEEDED, done.status());
    assertEquals(trace("m1", "recall"), done.trace());
  }

  @Test
  @DisplayName("a retried task's trace is its last attempt's: each failure stores its own, a result without one keeps it")
  void traceOfTheLastAttempt() throws Exception {
    Task t = submit(task("flaky"));
    assertEquals(Fenced.OK, await(queue.fail(leaseOne("w", LONG), "upstream 503", System.currentTimeMillis(), trace("m1", "a"))));
    assertEquals(trace("m1", "a"), get(t.id()).trace(), "stored with the failure");
    Lease second = leaseWhenDue("w", LONG);
    assertEquals(Fenced.OK, await(queue.fail(second, "upstream 503 again", 0, trace("m2", "b"))));
    Task failed = get(t.id());
    assertEquals(TaskQueue.FAILED, failed.status());
    assertEquals(trace("m2", "b"), failed.trace(), "the second attempt's, not both");
    assertEquals(Change.DONE, await(queue.retry(t.id())).change());
    Lease third = leaseWhenDue("w", LONG);
    assertEquals(Fenced.OK, await(queue.saveResult(third, "answer")));
    assertEquals(trace("m2", "b"), get(t.id()).trace(), "a result saved without a trace leaves the stored one");
  }

  @Test
  @DisplayName("a run that lost its lease, or whose task was cancelled, stores no trace: the task keeps its current run's")
  void noTraceFromALostOrCancelledLease() throws Exception {
    Task t = submit(task("taken over"));
    Lease first = leaseOne("w1", SHORT);
    expire(first);
    Lease second = leaseOne("w2", LONG);
    assertEquals(Fenced.OK, await(queue.saveResult(second, "answer", trace("current", "recall"))));
    assertEquals(Fenced.LEASE_LOST, await(queue.saveResult(first, "stale", trace("stale", "a"))));
    assertEquals(Fenced.LEASE_LOST, await(queue.fail(first, "stale", 0, trace("stale", "b"))));
    assertEquals(trace("current", "recall"), get(t.id()).trace());

    Task cancelled = submit(task("cancelled while running"));
    Lease running = leaseOne("w3", LONG);
    assertEquals(cancelled.id(), running.task().id());
    await(queue.cancel(cancelled.id()));
    assertEquals(Fenced.CANCELLED, await(queue.saveResult(running, "late", trace("late", "c"))));
    assertEquals(Fenced.CANCELLED, await(queue.fail(running, "late", 0, trace("late", "d"))));
    assertNull(get(cancelled.id()).trace());
  }

  @Test
  @DisplayName("a listing leaves traces out; the task itself has its trace")
  void listingLeavesTracesOut() throws Exception {
    Task t = submit(task("traced"));
    Lease lease = leaseOne("w", LONG);
    await(queue.saveResult(lease, "answer", trace("m1", "recall")));
    await(queue.complete(lease));
    Task listed = await(queue.list(null, null, 10, null)).tasks().get(0);
    assertEquals(t.id(), listed.id());
    assertNull(listed.trace());
    assertEquals(trace("m1", "recall"), get(t.id()).trace());
  }

  @Test
  @DisplayName("release gives the task back at once, without counting the attempt")
  void releaseNotCounted() throws Exception {
    Task t = submit(task("interrupted"));
    Lease lease = leaseOne("w1", LONG);
    assertEquals(1, lease.task().attempts());
    Future<Void> woken = queue.awaitWork(30_000);
    assertEquals(Fenced.OK, await(queue.release(lease)));
    await(woken);
    Task back = get(t.id());
    assertEquals(TaskQueue.QUEUED, back.status());
    assertEquals(0, back.attempts());
    Lease next = leaseOne("w2", LONG);
    assertEquals(t.id(), next.task().id());
    assertEquals(1, next.task().attempts());
    assertEquals(Fenced.LEASE_LOST, await(queue.complete(lease)));
  }

  // ---------------------------------------------------------------------------------------------
  // cancel and retry by hand

  @Test
  @DisplayName("a cancelled queued task is never leased")
  void cancelQueued() throws Exception {
    Task t = submit(task("unwanted"));
    Task later = submit(at("unwanted later", System.currentTimeMillis() + 300));
    TaskQueue.Changed c = await(queue.cancel(t.id()));
    assertEquals(Change.DONE, c.change());
    assertEquals(TaskQueue.CANCELLED, c.task().status());
    assertEquals(Change.DONE, await(queue.cancel(later.id())).change());
    Thread.sleep(400);
    assertTrue(lease("w", 5, LONG).isEmpty());
    assertEquals(TaskQueue.CANCELLED, get(t.id()).status());
    assertEquals(0, get(t.id()).attempts());
  }

  @Test
  @DisplayName("a cancelled running task tells its worker CANCELLED, and its result is discarded")
  void cancelRunning() throws Exception {
    Task t = submit(task("running"));
    Lease lease = leaseOne("w", LONG);
    assertEquals(Fenced.OK, await(queue.saveResult(lease, "half done")));
    assertEquals(Change.DONE, await(queue.cancel(t.id())).change());
    assertEquals(Fenced.CANCELLED, await(queue.extend(lease, LONG)));
    assertEquals(Fenced.CANCELLED, await(queue.saveResult(lease, "more")));
    assertEquals(Fenced.CANCELLED, await(queue.complete(lease)));
    assertEquals(Fenced.CANCELLED, await(queue.fail(lease, "x", 0)));
    Task cancelled = get(t.id());
    assertEquals(TaskQueue.CANCELLED, cancelled.status());
    assertNull(cancelled.result());
    assertEquals(0, await(queue.reclaim()), "a cancelled task is nobody's to reclaim");
  }

  @Test
  @DisplayName("cancelling a finished task is a CONFLICT, and an unknown one NOT_FOUND")
  void cancelFinished() throws Exception {
    Task t = submit(task("done"));
    assertEquals(Fenced.OK, await(queue.complete(leaseOne("w", LONG))));
    TaskQueue.Changed c = await(queue.cancel(t.id()));
    assertEquals(Change.CONFLICT, c.change());
    assertEquals(TaskQueue.SUCCEEDED, c.task().status());
    assertEquals(Change.CONFLICT, await(queue.cancel(t.id())).change());
    assertEquals(Change.NOT_FOUND, await(queue.cancel("no-such-task")).change());
  }

  @Test
  @DisplayName("retry puts a failed or a cancelled task back in line with attempts from zero")
  void retryByHand() throws Exception {
    Task failed = submit(withAttempts("failed", 1));
    assertEquals(Fenced.OK, await(queue.fail(leaseOne("w", LONG), "boom", 0)));
    Task cancelled = submit(task("cancelled"));
    await(queue.cancel(cancelled.id()));

    TaskQueue.Changed r1 = await(queue.retry(failed.id()));
    assertEquals(Change.DONE, r1.change());
    assertEquals(TaskQueue.QUEUED, r1.task().status());
    assertEquals(0, r1.task().attempts());
    assertEquals(Change.DONE, await(queue.retry(cancelled.id())).change());

    Set<String> leased = new HashSet<>();
    lease("w", 5, LONG).forEach(l -> leased.add(l.task().id()));
    assertEquals(Set.of(failed.id(), cancelled.id()), leased);
  }

  @Test
  @DisplayName("retry of a queued or running task is a CONFLICT, and of an unknown one NOT_FOUND")
  void retryConflicts() throws Exception {
    Task queued = submit(task("queued"));
    assertEquals(Change.CONFLICT, await(queue.retry(queued.id())).change());
    Lease running = leaseOne("w", LONG);
    TaskQueue.Changed c = await(queue.retry(running.task().id()));
    assertEquals(Change.CONFLICT, c.change());
    assertEquals(TaskQueue.RUNNING, c.task().status());
    assertEquals(Change.NOT_FOUND, await(queue.retry("no-such-task")).change());
  }

  // ---------------------------------------------------------------------------------------------
  // list, stats, purge

  @Test
  @DisplayName("list is newest first, filtered by status and priority, page by page with cursors")
  void listing() throws Exception {
    List<String> ids = new ArrayList<>();
    Priority[] priorities = {Priority.HIGH, Priority.NORMAL, Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.NORMAL, Priority.LOW};
    for (int i = 0; i < priorities.length; i++) {
      ids.add(submit(task("t" + i, priorities[i])).id());
    }
    // one of them done (t0, the high one leased first)
    Lease l = leaseOne("w", LONG);
    assertEquals(ids.get(0), l.task().id());
    await(queue.complete(l));

    List<String> all = new ArrayList<>();
    String cursor = null;
    int pages = 0;
    do {
      Page page = await(queue.list(null, null, 3, cursor));
      assertTrue(page.tasks().size() <= 3);
      page.tasks().forEach(t -> all.add(t.id()));
      cursor = page.nextCursor();
      pages++;
    } while (cursor != null);
    List<String> newestFirst = new ArrayList<>(ids);
    java.util.Collections.reverse(newestFirst);
    assertEquals(newestFirst, all, "every task once, newest first");
    assertEquals(3, pages);

    assertEquals(List.of(ids.get(0)), await(queue.list(TaskQueue.SUCCEEDED, null, 10, null)).tasks().stream().map(Task::id).toList());
    assertEquals(List.of(ids.get(5), ids.get(3), ids.get(1)),
        await(queue.list(null, Priority.NORMAL, 10, null)).tasks().stream().map(Task::id).toList());
    assertEquals(List.of(ids.get(4)),
        await(queue.list(TaskQueue.QUEUED, Priority.HIGH, 10, null)).tasks().stream().map(Task::id).toList());
    Page firstNormal = await(queue.list(TaskQueue.QUEUED, Priority.NORMAL, 2, null));
    assertEquals(List.of(ids.get(5), ids.get(3)), firstNormal.tasks().stream().map(Task::id).toList());
    Page secondNormal = await(queue.list(TaskQueue.QUEUED, Priority.NORMAL, 2, firstNormal.nextCursor()));
    assertEquals(List.of(ids.get(1)), secondNormal.tasks().stream().map(Task::id).toList());
    assertNull(secondNormal.nextCursor());
  }

  @Test
  @DisplayName("a task deleted at a page boundary does not end the listing")
  void deletedAtBoundary() throws Exception {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      ids.add(submit(task("t" + i)).id());
    }
    Page first = await(queue.list(null, null, 2, null));
    assertEquals(List.of(ids.get(4), ids.get(3)), first.tasks().stream().map(Task::id).toList());
    // the last task of the page is cancelled and purged before the next page is read
    await(queue.cancel(ids.get(3)));
    assertEquals(1, await(queue.purge(System.currentTimeMillis() + 1000)));
    assertTrue(await(queue.get(ids.get(3))).isEmpty());
    Page second = await(queue.list(null, null, 2, first.nextCursor()));
    assertEquals(List.of(ids.get(2), ids.get(1)), second.tasks().stream().map(Task::id).toList());
  }

  @Test
  @DisplayName("a cursor this queue did not give out is a bad request, and so is an unknown status")
  void badListArguments() {
    Failure cursor = failure(queue.list(null, null, 10, "not-a-cursor"));
    assertEquals(400, cursor.status());
    Failure status = failure(queue.list("sleeping", null, 10, null));
    assertEquals(400, status.status());
  }

  @Test
  @DisplayName("stats count waiting, scheduled and running per priority, with the age of the oldest waiting task")
  void stats() throws Exception {
    submit(task("h1", Priority.HIGH));
    submit(task("h2", Priority.HIGH));
    submit(task("n1", Priority.NORMAL));
    submit(new NewTask(spec("later"), Priority.LOW, System.currentTimeMillis() + 60_000, 3, "alice", null));
    Thread.sleep(300);
    Stats s = await(queue.stats());
    assertEquals(2, s.byPriority().get(Priority.HIGH).waiting());
    assertEquals(1, s.byPriority().get(Priority.NORMAL).waiting());
    assertEquals(0, s.byPriority().get(Priority.LOW).waiting());
    assertEquals(1, s.byPriority().get(Priority.LOW).scheduled());
    assertEquals(0, s.byPriority().get(Priority.HIGH).scheduled());
    assertEquals(3, s.waiting());
    assertEquals(0, s.running());
    double oldest = s.byPriority().get(Priority.HIGH).oldestAgeSeconds();
    assertTrue(oldest >= 0.2 && oldest < 30, "oldest high waited " + oldest + " s");
    assertEquals(0.0, s.byPriority().get(Priority.LOW).oldestAgeSeconds(), "nothing low is runnable");

    leaseOne("w", LONG); // a high one
    Stats after = await(queue.stats());
    assertEquals(1, after.running());
    assertEquals(1, after.byPriority().get(Priority.HIGH).waiting());
  }

  @Test
  @DisplayName("purge removes finished tasks last changed before the given time, and nothing else")
  void purge() throws Exception {
    Task done = submit(task("done"));
    Task failed = submit(withAttempts("failed", 1));
    Task cancelled = submit(task("cancelled"));
    Task willRun = submit(task("will run"));
    Task staysQueued = submit(task("stays queued"));
    await(queue.complete(leaseOne("w", LONG)));
    await(queue.fail(leaseOne("w", LONG), "x", 0));
    await(queue.cancel(cancelled.id()));
    Lease held = leaseOne("w", LONG);
    assertEquals(willRun.id(), held.task().id());
    long cut = System.currentTimeMillis() + 1;
    Thread.sleep(5);

    assertEquals(0, await(queue.purge(get(done.id()).updatedAt())), "nothing finished before that");
    assertEquals(3, await(queue.purge(cut)));
    for (Task gone : List.of(done, failed, cancelled)) {
      assertTrue(await(queue.get(gone.id())).isEmpty(), gone.id() + " purged");
    }
    assertEquals(TaskQueue.RUNNING, get(willRun.id()).status());
    assertEquals(TaskQueue.QUEUED, get(staysQueued.id()).status());
    assertEquals(Set.of(willRun.id(), staysQueued.id()),
        new HashSet<>(await(queue.list(null, null, 10, null)).tasks().stream().map(Task::id).toList()));
    assertEquals(0, await(queue.purge(cut)));
    assertEquals(Fenced.OK, await(queue.complete(held)));
  }

  @Test
  @DisplayName("a purged task's idempotency key makes a new task")
  void purgeFreesIdempotencyKey() throws Exception {
    NewTask keyed = new NewTask(spec("once"), Priority.NORMAL, 0, 3, "alice", "k");
    Task first = submit(keyed);
    await(queue.complete(leaseOne("w", LONG)));
    assertEquals(1, await(queue.purge(System.currentTimeMillis() + 1000)));
    TaskQueue.Submitted again = await(queue.submit(keyed));
    assertTrue(again.created());
    assertNotEquals(first.id(), again.task().id());
  }

  // ---------------------------------------------------------------------------------------------
  // waiting for work

  @Test
  @DisplayName("awaitWork completes when a task is submitted")
  void awaitWorkOnSubmission() throws Exception {
    Future<Void> woken = queue.awaitWork(30_000);
    Thread.sleep(100);
    assertTrue(!woken.isComplete(), "nothing to do yet");
    submit(task("wake up"));
    await(woken);
    assertEquals(1, lease("w", 1, LONG).size());
  }

  @Test
  @DisplayName("awaitWork completes after its timeout when nothing comes")
  void awaitWorkTimesOut() throws Exception {
    Future<Void> woken = queue.awaitWork(200);
    await(woken);
    assertTrue(woken.succeeded());
  }

  // ---------------------------------------------------------------------------------------------
  // restart

  @Test
  @DisplayName("the store survives a restart: queued, delayed and finished tasks and stored results are all there")
  void survivesRestart() throws Exception {
    Task queued = submit(new NewTask(spec("排队中"), Priority.HIGH, 0, 4, "alice", "restart-key"));
    Task done = submit(task("done"));
    long runAt = System.currentTimeMillis() + 3_000;
    Task delayed = submit(at("delayed", runAt));
    List<Lease> leases = lease("w", 5, LONG);
    assertEquals(Set.of(queued.id(), done.id()), new HashSet<>(leases.stream().map(l -> l.task().id()).toList()));
    for (Lease l : leases) {
      if (l.task().id().equals(queued.id())) {
        await(queue.release(l));
      } else {
        await(queue.saveResult(l, "结果"));
        await(queue.complete(l));
      }
    }

    restart();

    assertEquals(TaskQueue.SUCCEEDED, get(done.id()).status());
    assertEquals("结果", get(done.id()).result());
    assertEquals(false, await(queue.submit(new NewTask(spec("again"), Priority.HIGH, 0, 4, "alice", "restart-key"))).created());
    Task back = get(queued.id());
    assertEquals(TaskQueue.QUEUED, back.status());
    assertEquals(spec("排队中"), back.spec());
    assertEquals(4, back.maxAttempts());
    Task stillDelayed = get(delayed.id());
    assertEquals(TaskQueue.QUEUED, stillDelayed.status());
    assertEquals(runAt, stillDelayed.runAt());
    Set<String> leasedAfter = new HashSet<>();
    while (leasedAfter.size() < 2) {
      leasedAfter.add(leaseWhenDue("w", LONG).task().id());
    }
    assertEquals(Set.of(queued.id(), delayed.id()), leasedAfter);
  }
}
