package dev.switchboard.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.bus.Failure;
import dev.switchboard.task.TaskQueue.Fenced;
import dev.switchboard.task.TaskQueue.Lease;
import dev.switchboard.task.TaskQueue.Task;
import dev.switchboard.testing.TcpProxy;
import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The queue behaviours on Redis Streams (the Redis of {@code scripts/test.sh}, env REDIS_URL; a
 * key prefix of its own per test), plus what only a shared, networked store brings: other
 * instances, and Redis going away and coming back (cut off behind a {@link TcpProxy}, and a
 * throwaway {@code redis-server} with AOF killed and started again: it must be on the PATH, which
 * scripts/test.sh ensures). Fails, never skips, without Redis under CI.
 */
@DisplayName("Task queue, Redis")
class RedisTaskQueueIT extends TaskQueueBehaviour {

  /** Leases given with a shorter visibility than this are still reclaimed after it: tests use short ones. */
  static final Duration MIN_IDLE = Duration.ofMillis(100);

  String redisUrl;
  String prefix;
  /** Where the queues under test connect: Redis itself, or a relay a test can cut. */
  String connectTo;
  private Redis raw;
  private final List<TcpProxy> proxies = new ArrayList<>();

  @Override
  @BeforeEach
  void start(io.vertx.core.Vertx vertx) throws Exception {
    redisUrl = System.getenv("REDIS_URL");
    if (redisUrl == null || redisUrl.isBlank()) {
      assertFalse("true".equalsIgnoreCase(System.getenv("CI")),
          "REDIS_URL is not set: run the integration tests with scripts/test.sh, which starts Redis");
      Assumptions.abort("REDIS_URL is not set (outside CI): skipped");
    }
    prefix = "switchboard:queue:it:" + UUID.randomUUID().toString().substring(0, 8) + ":";
    connectTo = redisUrl;
    raw = Redis.createClient(vertx, redisUrl);
    super.start(vertx);
  }

  @AfterEach
  void cleanUp() throws Exception {
    if (raw != null) {
      // this test's keys only
      Response keys = await(raw.send(Request.cmd(Command.KEYS).arg(prefix + "*")));
      for (Response k : keys) {
        await(raw.send(Request.cmd(Command.DEL).arg(k.toString())));
      }
      await(raw.close());
    }
  }

  @Override
  TaskQueue create() {
    return new RedisTaskQueue(vertx, connectTo, prefix, MIN_IDLE, maxLost);
  }

  @Override
  void closeStore() throws Exception {
    for (TcpProxy p : proxies) {
      p.down().await(10, TimeUnit.SECONDS);
    }
    proxies.clear();
  }

  Response redis(Request r) throws Exception {
    return await(raw.send(r));
  }

  /** The queue under test, connected through a relay that the test can cut. */
  TcpProxy throughProxy() throws Exception {
    URI uri = URI.create(redisUrl);
    TcpProxy proxy = TcpProxy.start(vertx, uri.getHost(), uri.getPort()).await(10, TimeUnit.SECONDS);
    proxies.add(proxy);
    connectTo = redisUrl.replaceFirst(uri.getHost() + ":" + uri.getPort(), "127.0.0.1:" + proxy.port());
    queue.close().await(10, TimeUnit.SECONDS);
    queue = open();
    return proxy;
  }

  @Test
  @DisplayName("a second instance on the same Redis sees every task, and a lease taken through one is completed through the other")
  void instancesShareOneQueue() throws Exception {
    TaskQueue other = open();
    Task t = submit(task("shared"));
    assertEquals(t.id(), await(other.get(t.id())).orElseThrow().id());
    Lease lease = await(other.lease("instance-b:w1", 1, LONG)).get(0);
    assertEquals(t.id(), lease.task().id());
    assertTrue(lease("instance-a:w1", 1, LONG).isEmpty(), "leased once, across instances");
    assertEquals(Fenced.OK, await(queue.complete(lease)), "the token is what counts, not the instance");
    assertEquals(TaskQueue.SUCCEEDED, await(other.get(t.id())).orElseThrow().status());
  }

  @Test
  @DisplayName("awaitWork of one instance is woken by a submission through another")
  void awaitWorkAcrossInstances() throws Exception {
    TaskQueue other = open();
    Future<Void> woken = other.awaitWork(30_000);
    Thread.sleep(200);
    assertFalse(woken.isComplete(), "nothing to do yet");
    submit(task("from instance a"));
    await(woken);
    assertEquals(1, await(other.lease("b", 1, LONG)).size());
  }

  @Test
  @DisplayName("a delayed task submitted through one instance wakes a worker waiting on another when it comes due")
  void delayedAcrossInstances() throws Exception {
    TaskQueue other = open();
    Future<Void> woken = other.awaitWork(30_000);
    long runAt = System.currentTimeMillis() + 500;
    submit(at("later", runAt));
    await(woken);
    List<Lease> leases = await(other.lease("b", 1, LONG));
    while (leases.isEmpty()) { // woken early by the submission itself: wait again, for the due time
      await(other.awaitWork(30_000));
      leases = await(other.lease("b", 1, LONG));
    }
    assertTrue(System.currentTimeMillis() >= runAt);
  }

  @Test
  @DisplayName("a running task keeps its lease across a restart of the gateway: only an expired one is reclaimed")
  void leasesSurviveRestart() throws Exception {
    Task t = submit(task("long"));
    Lease lease = leaseOne("w1", LONG);
    restart();
    assertEquals(0, await(queue.reclaim()));
    assertEquals(TaskQueue.RUNNING, get(t.id()).status());
    assertEquals(Fenced.OK, await(queue.extend(lease, LONG)));
    assertEquals(Fenced.OK, await(queue.complete(lease)));
  }

  @Test
  @DisplayName("while Redis is cut off every call fails fast saying the store is unavailable, and all work again once it is back")
  void redisOutage() throws Exception {
    TcpProxy proxy = throughProxy();
    Task before = submit(task("before"));
    Lease held = leaseOne("w1", LONG);
    assertEquals(before.id(), held.task().id());

    proxy.down().await(10, TimeUnit.SECONDS);
    long start = System.currentTimeMillis();
    List<Future<?>> calls = List.of(queue.submit(task("during")), queue.lease("w1", 1, LONG), queue.complete(held),
        queue.get(before.id()), queue.stats(), queue.list(null, null, 10, null), queue.reclaim(), queue.ping());
    for (Future<?> call : calls) {
      Failure f = failure(call);
      assertEquals(503, f.status(), f.getMessage());
      assertTrue(f.getMessage().contains("the task store is unavailable"), f.getMessage());
    }
    // well inside the bound a caller can live with (the command timeout is 5 s)
    assertTrue(System.currentTimeMillis() - start < 8_000, "failed fast");
    Future<Void> waiting = queue.awaitWork(500);
    await(waiting); // never fails, never hangs
    assertTrue(waiting.succeeded());

    proxy.up().await(10, TimeUnit.SECONDS);
    Task after = awaitBack(() -> submit(task("after")));
    assertEquals(Fenced.OK, await(queue.complete(held)), "the lease taken before the outage still holds");
    assertEquals(after.id(), leaseOne("w1", LONG).task().id());
    assertEquals(1, await(queue.list(TaskQueue.SUCCEEDED, null, 10, null)).tasks().size());
    // and the blocking connection of awaitWork was opened again
    Future<Void> woken = queue.awaitWork(30_000);
    Thread.sleep(300);
    submit(task("wakes"));
    await(woken);
  }

  @FunctionalInterface
  interface Call<T> {
    T call() throws Exception;
  }

  /** The first call that succeeds once Redis is back (the pool reconnects on demand). */
  static <T> T awaitBack(Call<T> call) throws Exception {
    long deadline = System.currentTimeMillis() + 10_000;
    while (true) {
      try {
        return call.call();
      } catch (Failure stillDown) {
        if (System.currentTimeMillis() > deadline) {
          throw stillDown;
        }
        Thread.sleep(100);
      }
    }
  }

  @Test
  @DisplayName("scripts that Redis forgot (SCRIPT FLUSH, a restart) are loaded again on the next call")
  void scriptsReloaded() throws Exception {
    Task first = submit(task("one"));
    assertEquals("OK", redis(Request.cmd(Command.SCRIPT).arg("FLUSH")).toString());
    Task second = submit(task("two"));
    assertNotNull(second.id());
    assertEquals(2, lease("w", 5, LONG).size());
    assertEquals(TaskQueue.RUNNING, get(first.id()).status());
  }

  @Test
  @DisplayName("a stream that vanished gets its consumer group back, and its tasks are leased")
  void streamRecreated() throws Exception {
    submit(task("one"));
    leaseOne("w", LONG);
    // the stream and its group are gone, as after a Redis that came back without its data
    redis(Request.cmd(Command.DEL).arg(prefix + "s:normal"));
    Task next = submit(task("two"));
    assertEquals(next.id(), leaseOne("w", LONG).task().id());
    // and a group deleted under a stream that stays
    redis(Request.cmd(Command.XGROUP).arg("DESTROY").arg(prefix + "s:normal").arg(RedisScripts.GROUP));
    Task third = submit(task("three"));
    assertEquals(third.id(), leaseOne("w", LONG).task().id());
  }

  @Test
  @DisplayName("a lease extended for longer than the reclaim's min-idle stays its worker's however often reclaim runs")
  void longLeaseSurvivesXautoclaim() throws Exception {
    Task t = submit(task("long"));
    Lease lease = leaseOne("w1", Duration.ofSeconds(30));
    for (int i = 0; i < 3; i++) {
      Thread.sleep(MIN_IDLE.toMillis() + 100);
      assertEquals(0, await(queue.reclaim()));
      assertEquals(0, await(open().reclaim()), "from another instance too");
    }
    Response pending = redis(Request.cmd(Command.XPENDING).arg(prefix + "s:normal").arg(RedisScripts.GROUP)
        .arg("-").arg("+").arg(10));
    assertEquals(1, pending.size());
    assertEquals("w1", pending.get(0).get(1).toString(), "the entry is back with its owner");
    assertEquals(1L, pending.get(0).get(3).toLong(), "reclaim's look did not count as a delivery");
    assertEquals(Fenced.OK, await(queue.complete(lease)));
    assertEquals(TaskQueue.SUCCEEDED, get(t.id()).status());
  }

  @TempDir
  Path redisDir;

  @Test
  @DisplayName("Redis killed and started again (AOF): the same queue works on, with its scripts, groups and waiting worker back")
  void redisRestarted() throws Exception {
    int port = freePort();
    Process server = startRedis(port, redisDir);
    try {
      queue.close().await(10, TimeUnit.SECONDS);
      connectTo = "redis://127.0.0.1:" + port;
      queue = open();
      Task before = submit(task("before the restart"));
      Lease held = leaseOne("w1", LONG);
      Task waiting = submit(task("waits through the restart"));

      server.destroyForcibly().waitFor(10, TimeUnit.SECONDS); // SIGKILL
      assertEquals(503, failure(queue.submit(task("during"))).status());
      server = startRedis(port, redisDir);

      // a new Redis process: no scripts loaded, new connections, the blocking one too
      Task after = awaitBack(() -> submit(task("after the restart")));
      assertEquals(Fenced.OK, await(queue.complete(held)), "the lease survived in the AOF");
      List<String> leased = lease("w2", 5, LONG).stream().map(l -> l.task().id()).toList();
      assertEquals(List.of(waiting.id(), after.id()), leased);
      assertEquals(TaskQueue.SUCCEEDED, get(before.id()).status());
      Future<Void> woken = queue.awaitWork(30_000);
      Thread.sleep(300);
      submit(task("wakes the waiting worker"));
      await(woken);
    } finally {
      server.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** A throwaway Redis with AOF fsynced on every write, so that SIGKILL loses nothing acknowledged. */
  private static Process startRedis(int port, Path dir) throws Exception {
    Files.createDirectories(dir);
    Process p;
    try {
      p = new ProcessBuilder("redis-server", "--port", String.valueOf(port), "--bind", "127.0.0.1", "--save", "",
          "--appendonly", "yes", "--appendfsync", "always", "--dir", dir.toString())
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .start();
    } catch (IOException e) {
      throw new AssertionError("redis-server is not on the PATH: " + e.getMessage(), e);
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      if (!p.isAlive()) {
        throw new AssertionError("redis-server exited with " + p.exitValue() + " on port " + port);
      }
      if (answersPing(port)) {
        return p;
      }
      Thread.sleep(50);
    }
    p.destroyForcibly();
    throw new AssertionError("redis-server did not answer on port " + port);
  }

  /** Checked with a plain socket so readiness does not depend on the client under test. */
  private static boolean answersPing(int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 500);
      s.setSoTimeout(500);
      OutputStream out = s.getOutputStream();
      out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = s.getInputStream();
      return "+PONG\r\n".equals(new String(in.readNBytes(7), StandardCharsets.US_ASCII));
    } catch (IOException e) {
      return false;
    }
  }
}
