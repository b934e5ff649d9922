package dev.switchboard.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.bus.TaskSubmission.Priority;
import dev.switchboard.store.EmbeddedStore;
import dev.switchboard.task.TaskQueue.Lease;
import dev.switchboard.task.TaskQueue.Task;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The queue behaviours on the embedded profile (SQLite in the data folder), plus what only it does. */
@DisplayName("Task queue, embedded profile")
class EmbeddedTaskQueueTest extends TaskQueueBehaviour {

  @TempDir
  Path root;
  /** The data folder under test; a test may point it elsewhere before it reopens. */
  Path dataDir;
  private final List<EmbeddedStore> stores = new ArrayList<>();

  @Override
  TaskQueue create() throws Exception {
    if (dataDir == null) {
      dataDir = root.resolve("data");
    }
    EmbeddedStore store = EmbeddedStore.open(vertx, dataDir).await(10, TimeUnit.SECONDS);
    stores.add(store);
    return EmbeddedTaskQueue.open(vertx, store, maxLost).await(10, TimeUnit.SECONDS);
  }

  @Override
  void closeStore() throws Exception {
    for (EmbeddedStore s : stores) {
      s.close().await(10, TimeUnit.SECONDS);
    }
    stores.clear();
  }

  @Test
  @DisplayName("a lease of the previous process is reclaimed at open, not after its visibility timeout")
  void previousProcessLeasesReclaimedAtOpen() throws Exception {
    Task t = submit(task("interrupted by a crash"));
    Lease lease = leaseOne("w1", LONG);
    restart();
    Task back = get(t.id());
    assertEquals(TaskQueue.QUEUED, back.status(), "queued again at once, a minute before the lease would expire");
    assertEquals(0, back.attempts(), "the crash was not the task's failure");
    assertEquals(1, back.lost());
    Lease again = leaseOne("w1", LONG);
    assertEquals(1, again.task().attempts());
    assertEquals(TaskQueue.Fenced.LEASE_LOST, await(queue.complete(lease)));
  }

  @Test
  @DisplayName("a task that took the previous process down for the queue.max_lost-th time fails as poison at open")
  void previousProcessPoison() throws Exception {
    Task t = submit(withAttempts("kills the process", 3));
    leaseOne("w1", LONG);
    maxLost = 1;
    restart();
    Task dead = get(t.id());
    assertEquals(TaskQueue.FAILED, dead.status());
    assertEquals("worker lost 1 times (queue.max_lost)", dead.error());
  }

  @Test
  @DisplayName("submissions that arrive while a commit is under way are committed together, and every one is durable")
  void groupCommit() throws Exception {
    EmbeddedTaskQueue embedded = (EmbeddedTaskQueue) queue;
    long commitsBefore = embedded.commits();
    List<Future<TaskQueue.Submitted>> all = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      all.add(queue.submit(task("t" + i)));
    }
    Set<String> ids = new HashSet<>();
    for (Future<TaskQueue.Submitted> f : all) {
      ids.add(await(f).task().id());
    }
    assertEquals(300, ids.size());
    long commits = embedded.commits() - commitsBefore;
    assertTrue(commits < 100, "300 submissions in " + commits + " commits");

    restart();
    assertEquals(300, await(queue.stats()).waiting());
    for (String id : ids) {
      assertEquals(TaskQueue.QUEUED, get(id).status());
    }
  }

  @Test
  @DisplayName("a data folder of the previous version is read: its tasks keep their state, input, channels and results")
  void readsPreviousVersion() throws Exception {
    restartOn(root.resolve("previous"), this::writePreviousVersion);

    Task queued = get("old-queued");
    assertEquals(TaskQueue.QUEUED, queued.status());
    assertEquals(Priority.HIGH, queued.priority());
    assertEquals("bob", queued.subject());
    assertEquals(new JsonObject().put("input", "总结告警").put("model", "deepseek-chat")
        .put("channels", new JsonArray().add(new JsonObject().put("type", "dingtalk").put("bot", "default")
            .put("address", null).put("message", null)))
        .put("conversation", new JsonObject().put("key", "dingtalk:assistant:c1").put("turns", 4))
        .put("memory_scopes", new JsonArray().add("user:bob")), queued.spec());
    assertEquals(3, queued.maxAttempts(), "the previous default of queue.max_attempts");
    assertEquals(queued.createdAt(), queued.runAt(), "written before run_at existed: runnable since it was created");

    Task succeeded = get("old-succeeded");
    assertEquals(TaskQueue.SUCCEEDED, succeeded.status());
    assertEquals("旧的结果", succeeded.result());
    assertEquals(TaskQueue.FAILED, get("old-failed").status());

    // the one the previous process left running is back in line; both run again, in line order
    assertEquals(TaskQueue.QUEUED, get("old-running").status());
    List<String> leased = lease("w", 5, LONG).stream().map(l -> l.task().id()).toList();
    assertEquals(Set.of("old-queued", "old-running"), new HashSet<>(leased));

    // and new tasks join the same table, newest first in the listing
    Task fresh = submit(task("new"));
    List<String> listed = await(queue.list(null, null, 10, null)).tasks().stream().map(Task::id).toList();
    assertEquals(List.of(fresh.id(), "old-failed", "old-succeeded", "old-running", "old-queued"), listed);
  }

  @Test
  @DisplayName("a data folder of the release before traces opens: its tasks read without a trace, and a new run stores one")
  void readsTheReleaseBeforeTraces() throws Exception {
    Task done = submit(task("answered before the upgrade"));
    Lease first = leaseOne("w", LONG);
    await(queue.saveResult(first, "old answer"));
    await(queue.complete(first));
    Task waiting = submit(task("queued before the upgrade"));
    // the tasks table as that release left it: every column of this one but trace
    queue.close().await(10, TimeUnit.SECONDS);
    closeStore();
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dataDir.resolve(EmbeddedStore.FILE));
         Statement s = c.createStatement()) {
      s.execute("ALTER TABLE tasks DROP COLUMN trace");
    }
    queue = open();

    assertEquals("old answer", get(done.id()).result());
    assertEquals(null, get(done.id()).trace());
    assertEquals(2, await(queue.list(null, null, 10, null)).tasks().size());
    Lease lease = leaseOne("w", LONG);
    assertEquals(waiting.id(), lease.task().id());
    assertEquals(TaskQueue.Fenced.OK, await(queue.saveResult(lease, "new answer", trace("m", "recall"))));
    assertEquals(trace("m", "recall"), get(waiting.id()).trace());
  }

  private void restartOn(Path dir, ThrowingConsumer<Path> prepare) throws Exception {
    queue.close().await(10, TimeUnit.SECONDS);
    closeStore();
    dataDir = dir;
    Files.createDirectories(dir);
    prepare.accept(dir);
    queue = open();
  }

  @FunctionalInterface
  interface ThrowingConsumer<T> {
    void accept(T t) throws Exception;
  }

  /** The tasks table exactly as the previous version (TaskStore) created and filled it. */
  private void writePreviousVersion(Path dir) throws Exception {
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve(EmbeddedStore.FILE));
         Statement s = c.createStatement()) {
      s.execute("""
          CREATE TABLE tasks (
            id TEXT PRIMARY KEY,
            seq INTEGER NOT NULL,
            status TEXT NOT NULL,
            priority INTEGER NOT NULL,
            input TEXT NOT NULL,
            model TEXT,
            channels TEXT NOT NULL,
            subject TEXT,
            idempotency_key TEXT,
            result TEXT,
            error TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL)""");
      s.execute("CREATE INDEX tasks_status ON tasks (status, priority, seq)");
      s.execute("CREATE UNIQUE INDEX tasks_idempotency ON tasks (subject, idempotency_key) WHERE idempotency_key IS NOT NULL");
      s.execute("ALTER TABLE tasks ADD COLUMN conversation TEXT");
      s.execute("ALTER TABLE tasks ADD COLUMN history_turns INTEGER NOT NULL DEFAULT 0");
      s.execute("ALTER TABLE tasks ADD COLUMN run_at INTEGER NOT NULL DEFAULT 0");
      s.execute("ALTER TABLE tasks ADD COLUMN memory_scopes TEXT");
      long t = System.currentTimeMillis() - 60_000;
      String channels = "[{\"type\":\"dingtalk\",\"bot\":\"default\",\"address\":null,\"message\":null}]";
      // written before run_at existed (0 once the column came): runnable since it was created
      s.execute("INSERT INTO tasks (id, seq, status, priority, input, model, channels, subject, attempts, created_at, updated_at,"
          + " conversation, history_turns, run_at, memory_scopes) VALUES ('old-queued', 1, 'queued', 0, '总结告警', 'deepseek-chat', '"
          + channels + "', 'bob', 0, " + t + ", " + t + ", 'dingtalk:assistant:c1', 4, 0, '[\"user:bob\"]')");
      s.execute("INSERT INTO tasks (id, seq, status, priority, input, channels, attempts, created_at, updated_at)"
          + " VALUES ('old-running', 2, 'running', 1, 'was running', '" + channels + "', 1, " + (t + 1) + ", " + (t + 1) + ")");
      s.execute("INSERT INTO tasks (id, seq, status, priority, input, channels, result, attempts, created_at, updated_at, run_at)"
          + " VALUES ('old-succeeded', 3, 'succeeded', 1, 'done', '[]', '旧的结果', 1, " + (t + 2) + ", " + (t + 2) + ", " + (t + 2) + ")");
      s.execute("INSERT INTO tasks (id, seq, status, priority, input, channels, error, attempts, created_at, updated_at, run_at)"
          + " VALUES ('old-failed', 4, 'failed', 2, 'broken', '[]', '400', 3, " + (t + 3) + ", " + (t + 3) + ", " + (t + 3) + ")");
    }
  }
}
