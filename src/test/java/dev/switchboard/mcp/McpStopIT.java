package dev.switchboard.mcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.switchboard.agent.SkillRegistry;
import io.modelcontextprotocol.json.McpJsonDefaults;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * What one MCP connection leaves behind when it ends, against the real {@code server-everything}
 * over stdio: a stop that lands while an attempt is in flight closes what that attempt opens and
 * schedules nothing after it; a killed server's transport is closed with its threads. Each test
 * has its own Vert.x and registry, so every child process and SDK thread seen is this
 * connection's.
 */
@DisplayName("MCP connection stop and loss")
class McpStopIT {

  private Vertx vertx;
  private Context context;
  private SkillRegistry registry;

  @BeforeEach
  void start() throws Exception {
    if (!Files.isRegularFile(McpClientIT.EVERYTHING)) {
      fail(McpClientIT.EVERYTHING + " is missing: run `npm ci --prefix src/test/node` (scripts/test.sh does)");
    }
    vertx = Vertx.vertx();
    context = vertx.getOrCreateContext();
    registry = SkillRegistry.of(vertx);
  }

  @AfterEach
  void stop() throws Exception {
    vertx.close().await(30, TimeUnit.SECONDS);
    for (ProcessHandle p : everything()) {
      p.destroyForcibly();
    }
  }

  @Test
  @DisplayName("a stop while the attempt's client is still being made: no process is started, no skill registered, no retry")
  void aStopBeforeTheClientIsMadeStartsNothing() throws Exception {
    McpClientConnection connection = connection(Duration.ofSeconds(15));
    // one task on the connection's context: the attempt is handed to a worker and stopped before it returns
    await(onContext(() -> {
      connection.start();
      return connection.stop();
    }));
    // the attempt's worker has returned by now; anything it would start appears within the first retry's delay
    assertNothingFor(McpClientConnection.FIRST_RETRY.multipliedBy(3));
    assertNull(registry.entry("everything__echo"), "a stopped connection registers no skills");
  }

  @Test
  @DisplayName("a stop while the server process is starting ends that process before stop completes, and no retry follows")
  void aStopWhileConnectingEndsTheProcess() throws Exception {
    McpClientConnection connection = connection(Duration.ofSeconds(15));
    await(onContext(() -> {
      connection.start();
      return Future.succeededFuture();
    }));
    awaitTrue("the server's process to start", () -> !everything().isEmpty());
    ProcessHandle child = everything().get(0);
    await(onContext(connection::stop));
    assertTrue(!child.isAlive() || child.onExit().isDone(), "the process (pid " + child.pid() + ") outlived the stop");
    assertNothingFor(McpClientConnection.FIRST_RETRY.multipliedBy(3));
    assertNull(registry.entry("everything__echo"), "a stopped connection registers no skills");
  }

  @Test
  @DisplayName("a killed stdio server's SDK threads end: after a kill and reconnect as many transport threads are alive as before")
  void aKilledServersThreadsEnd() throws Exception {
    McpClientConnection connection = connection(Duration.ofSeconds(15));
    await(onContext(() -> {
      connection.start();
      return Future.succeededFuture();
    }));
    awaitReady();
    ProcessHandle first = everything().get(0);
    List<String> before = transportThreads();
    first.destroyForcibly();
    first.onExit().get(10, TimeUnit.SECONDS);
    awaitTrue("a new process", () -> everything().stream().anyMatch(p -> p.pid() != first.pid()));
    awaitReady();
    assertEquals(before.size(), settledThreads(before.size()).size(), "before " + before + ", after " + transportThreads());
    await(onContext(connection::stop));
  }

  @Test
  @DisplayName("a server behind a wrapper process that is killed: the wrapper's child is ended too and no transport thread is left")
  void aKilledWrappersChildIsEndedWithItsThreads() throws Exception {
    // what npx does: the configured command starts the server as its own child, on the same pipes
    String wrapper = "const c = require('child_process').spawn(process.execPath, [process.argv[1], 'stdio'], { stdio: 'inherit' });"
        + " c.on('exit', code => process.exit(code ?? 1));";
    McpClientConnection connection = connection(new McpSettings.Server("everything", "node",
        List.of("-e", wrapper, McpClientIT.EVERYTHING.toString()), Map.of(), null, Map.of(), Duration.ofSeconds(30),
        Duration.ofSeconds(15)));
    await(onContext(() -> {
      connection.start();
      return Future.succeededFuture();
    }));
    awaitReady();
    List<ProcessHandle> first = everything();
    assertEquals(2, first.size(), "the wrapper and its child: " + first);
    ProcessHandle top = first.stream().filter(p -> p.parent().map(pp -> pp.pid() == ProcessHandle.current().pid()).orElse(false))
        .findFirst().orElseThrow();
    List<String> before = transportThreads();
    top.destroyForcibly();
    top.onExit().get(10, TimeUnit.SECONDS);
    awaitTrue("a new process", () -> everything().stream().noneMatch(first::contains) && everything().size() == 2);
    awaitReady();
    for (ProcessHandle old : first) {
      assertTrue(old.onExit().handle((p, e) -> true).get(15, TimeUnit.SECONDS), "pid " + old.pid() + " still runs");
    }
    assertEquals(before.size(), settledThreads(before.size()).size(), "before " + before + ", after " + transportThreads());
    await(onContext(connection::stop));
  }

  @Test
  @DisplayName("a server that ignores SIGTERM is killed on stop, and its transport's threads end all the same")
  void aServerIgnoringSigtermLeavesNoThreadsAfterStop() throws Exception {
    List<String> before = transportThreads();
    String stubborn = "process.on('SIGTERM', () => {}); import(process.argv[1]);";
    McpClientConnection connection = connection(new McpSettings.Server("everything", "node",
        List.of("-e", stubborn, McpClientIT.EVERYTHING.toString(), "stdio"), Map.of(), null, Map.of(), Duration.ofSeconds(30),
        Duration.ofSeconds(15)));
    await(onContext(() -> {
      connection.start();
      return Future.succeededFuture();
    }));
    awaitReady();
    ProcessHandle child = everything().get(0);
    await(onContext(connection::stop));
    // the JDK notices the exit of a handle found by descendants() on its own thread: bounded, not timed
    child.onExit().get(10, TimeUnit.SECONDS);
    assertEquals(before.size(), settledThreads(before.size()).size(), "before " + before + ", after " + transportThreads());
  }

  @Test
  @DisplayName("a ping slower than the ping interval but within the timeout is waited for: the server stays connected")
  void aSlowPingWithinTheTimeoutKeepsTheServer() throws Exception {
    Path record = Files.createTempFile("mcp-pings", ".txt");
    try {
      McpClientConnection connection = connection(new McpSettings.Server("slow", "node",
          List.of(SLOW_PING.toString(), "1000", record.toString()), Map.of(), null, Map.of(), Duration.ofSeconds(5),
          Duration.ofMillis(200)));
      await(onContext(() -> {
        connection.start();
        return Future.succeededFuture();
      }));
      awaitTrue("three pings answered (" + record + ")", () -> lines(record).size() >= 3);
      List<String> pids = lines(record);
      assertEquals(1, new java.util.HashSet<>(pids).size(), "one process answered every ping, none was replaced: " + pids);
      SkillRegistry.Entry echo = registry.entry("slow__echo");
      assertEquals(SkillRegistry.State.READY, echo.state());
      await(onContext(connection::stop));
    } finally {
      Files.deleteIfExists(record);
    }
  }

  // ---------------------------------------------------------------------------------------------

  static final Path SLOW_PING = Path.of("src", "test", "node", "mcp-slow-ping.mjs").toAbsolutePath();

  private static List<String> lines(Path file) {
    try {
      return Files.readAllLines(file).stream().filter(l -> !l.isBlank()).toList();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** The transport threads once the old transport's have had their time to end (bounded, not timed). */
  private static List<String> settledThreads(int expected) throws InterruptedException {
    long deadline = System.currentTimeMillis() + 15_000;
    List<String> now = transportThreads();
    while (now.size() > expected && System.currentTimeMillis() < deadline) {
      Thread.sleep(100);
      now = transportThreads();
    }
    return now;
  }

  private McpClientConnection connection(Duration ping) {
    return connection(new McpSettings.Server("everything", "node",
        List.of(McpClientIT.EVERYTHING.toString(), "stdio"), Map.of(), null, Map.of(), Duration.ofSeconds(30), ping));
  }

  private McpClientConnection connection(McpSettings.Server server) {
    return new McpClientConnection(vertx, context, server, registry, McpJsonDefaults.getMapper());
  }

  /** The threads of the SDK's stdio transports: three single-thread executors each, named by the JDK's default factory. */
  private static List<String> transportThreads() {
    return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName)
        .filter(n -> n.startsWith("pool-")).sorted().toList();
  }

  private List<ProcessHandle> everything() {
    return ProcessHandle.current().descendants().filter(ProcessHandle::isAlive)
        .filter(p -> p.info().commandLine().orElse("").contains(McpClientIT.EVERYTHING.toString())).toList();
  }

  private void awaitReady() throws Exception {
    awaitTrue("everything__echo ready", () -> {
      SkillRegistry.Entry e = registry.entry("everything__echo");
      return e != null && e.state() == SkillRegistry.State.READY;
    });
  }

  private void assertNothingFor(Duration window) throws Exception {
    long end = System.currentTimeMillis() + window.toMillis();
    while (System.currentTimeMillis() < end) {
      List<ProcessHandle> running = everything();
      assertTrue(running.isEmpty(), "a stopped connection started " + running.stream()
          .map(p -> p.pid() + " " + p.info().commandLine().orElse("")).toList());
      Thread.sleep(20);
    }
  }

  private static void awaitTrue(String what, BooleanSupplier condition) throws Exception {
    long deadline = System.currentTimeMillis() + 30_000;
    while (!condition.getAsBoolean()) {
      if (System.currentTimeMillis() > deadline) {
        fail("no " + what + " within 30 s");
      }
      Thread.sleep(20);
    }
  }

  private <T> Future<T> onContext(java.util.function.Supplier<Future<T>> task) {
    Promise<T> promise = Promise.promise();
    context.runOnContext(v -> task.get().onComplete(promise));
    return promise.future();
  }

  private static <T> T await(Future<T> future) throws Exception {
    return future.await(30, TimeUnit.SECONDS);
  }
}
