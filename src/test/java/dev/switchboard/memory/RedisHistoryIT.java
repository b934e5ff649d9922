package dev.switchboard.memory;

import static dev.switchboard.memory.ShortTermStore.turn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.switchboard.bus.Failure;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link RedisHistory} against the Redis the tests are pointed at (env {@code REDIS_URL}, started by
 * {@code scripts/test.sh}); fails, never skips, when it is missing. The outage tests need
 * {@code redis-server} on the PATH to run a throwaway instance they can kill.
 */
@DisplayName("Short-term memory in Redis")
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RedisHistoryIT {

  private static final Duration MINUTE = Duration.ofMinutes(1);
  private static final String RUN = UUID.randomUUID().toString();

  private static Vertx vertx;
  private final List<RedisHistory> stores = new ArrayList<>();
  private final List<Redis> raw = new ArrayList<>();

  @BeforeAll
  static void startVertx() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stopVertx() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @AfterEach
  void closeClients() throws Exception {
    for (RedisHistory s : stores) {
      s.close().await(10, TimeUnit.SECONDS);
    }
    for (Redis r : raw) {
      r.close().await(10, TimeUnit.SECONDS);
    }
  }

  static String redisUrl() {
    String url = System.getenv("REDIS_URL");
    if (url == null || url.isBlank()) {
      fail("REDIS_URL is not set: run the integration tests through scripts/test.sh");
    }
    return url;
  }

  private RedisHistory store(String url) {
    RedisHistory s = new RedisHistory(vertx, url);
    stores.add(s);
    return s;
  }

  private long pttl(String key) throws Exception {
    Redis r = Redis.createClient(vertx, redisUrl());
    raw.add(r);
    return await(r.send(Request.cmd(Command.PTTL).arg(key))).toLong();
  }

  private static String scope(String name) {
    // colons included on purpose: scopes are used verbatim in the key
    return "it:" + RUN + ":" + name;
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.await(20, TimeUnit.SECONDS);
  }

  private static Failure awaitFailure(Future<?> f) {
    Throwable t = assertThrows(Throwable.class, () -> await(f));
    if (t instanceof Failure failure) {
      return failure;
    }
    throw new AssertionError("expected a Failure, got " + t, t);
  }

  @Test
  @DisplayName("appended turns load back oldest first, with an empty summary")
  void appendThenLoad() throws Exception {
    RedisHistory store = store(redisUrl());
    String scope = scope("order");

    assertEquals(2, await(store.append(scope, new JsonArray().add(turn("user", "one")).add(turn("assistant", "two")), MINUTE)));
    assertEquals(3, await(store.append(scope, new JsonArray().add(turn("user", "three")), MINUTE)));

    ShortTermStore.Window window = await(store.load(scope));
    assertEquals("", window.summary());
    assertEquals(new JsonArray().add(turn("user", "one")).add(turn("assistant", "two")).add(turn("user", "three")),
        window.turns());
  }

  @Test
  @DisplayName("a scope never written loads as empty")
  void unknownScopeIsEmpty() throws Exception {
    assertEquals(ShortTermStore.Window.EMPTY, await(store(redisUrl()).load(scope("nothing"))));
  }

  @Test
  @DisplayName("turns and summary get the TTL, and a later append refreshes both")
  void ttlIsSetAndRefreshed() throws Exception {
    RedisHistory store = store(redisUrl());
    String scope = scope("ttl");

    await(store.append(scope, new JsonArray().add(turn("user", "hi")), MINUTE));
    await(store.compact(scope, 0, "greeting", MINUTE));
    long history = pttl("switchboard:history:" + scope);
    long summary = pttl("switchboard:summary:" + scope);
    assertTrue(history > 50_000 && history <= 60_000, "history PTTL " + history);
    assertTrue(summary > 50_000 && summary <= 60_000, "summary PTTL " + summary);

    await(store.append(scope, new JsonArray().add(turn("assistant", "hello")), Duration.ofMinutes(2)));
    history = pttl("switchboard:history:" + scope);
    summary = pttl("switchboard:summary:" + scope);
    assertTrue(history > 110_000 && history <= 120_000, "history PTTL after append " + history);
    assertTrue(summary > 110_000 && summary <= 120_000, "summary PTTL after append " + summary);
  }

  @Test
  @DisplayName("two scopes do not see each other's turns or summaries")
  void scopesAreIsolated() throws Exception {
    RedisHistory store = store(redisUrl());
    String a = scope("a");
    String b = scope("a:b");

    await(store.append(a, new JsonArray().add(turn("user", "for a")), MINUTE));
    await(store.append(b, new JsonArray().add(turn("user", "for b")), MINUTE));
    await(store.compact(b, 0, "about b", MINUTE));

    assertEquals(new ShortTermStore.Window("", new JsonArray().add(turn("user", "for a"))), await(store.load(a)));
    assertEquals(new ShortTermStore.Window("about b", new JsonArray().add(turn("user", "for b"))), await(store.load(b)));
  }

  @Test
  @DisplayName("compact drops the oldest turns, sets the summary and keeps turns appended after the load")
  void compactDropsOldestKeepsNewer() throws Exception {
    RedisHistory store = store(redisUrl());
    String scope = scope("compact");
    await(store.append(scope, new JsonArray()
        .add(turn("user", "1")).add(turn("assistant", "2")).add(turn("user", "3")).add(turn("assistant", "4")), MINUTE));

    // the summarizer loaded four turns and will fold the first three; meanwhile a new turn arrives
    assertEquals(4, await(store.load(scope)).turns().size());
    await(store.append(scope, new JsonArray().add(turn("user", "5")), MINUTE));
    await(store.compact(scope, 3, "turns 1-3", MINUTE));

    ShortTermStore.Window window = await(store.load(scope));
    assertEquals("turns 1-3", window.summary());
    assertEquals(new JsonArray().add(turn("assistant", "4")).add(turn("user", "5")), window.turns());
  }

  @Test
  @DisplayName("Chinese text and other Unicode round-trip in turns, summary and scope")
  void unicodeRoundTrips() throws Exception {
    RedisHistory store = store(redisUrl());
    String scope = scope("会话-用户:张三");
    String content = "你好，世界！明天北京天气怎么样？🌤 \"引号\" \\ 换行\n结束";

    await(store.append(scope, new JsonArray().add(turn("user", content)), MINUTE));
    await(store.compact(scope, 0, "用户询问北京天气 🌤", MINUTE));

    ShortTermStore.Window window = await(store.load(scope));
    assertEquals("用户询问北京天气 🌤", window.summary());
    assertEquals(content, window.turns().getJsonObject(0).getString("content"));
  }

  @Test
  @DisplayName("with Redis down every call fails fast with a 503 memory_unavailable")
  void redisDownFailsFast() {
    RedisHistory store = store("redis://127.0.0.1:1");
    long start = System.nanoTime();

    List<Future<?>> calls = List.of(
        store.append(scope("down"), new JsonArray().add(turn("user", "lost")), MINUTE),
        store.load(scope("down")),
        store.compact(scope("down"), 1, "s", MINUTE),
        store.ping());
    for (Future<?> call : calls) {
      Failure failure = awaitFailure(call);
      assertEquals(503, failure.status());
      assertEquals("memory_unavailable", failure.code());
      assertTrue(failure.getMessage().startsWith("Redis is unavailable: "), failure.getMessage());
    }
    long elapsed = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    assertTrue(elapsed < 3_000, "took " + elapsed + " ms");
  }

  @Test
  @DisplayName("after Redis dies and comes back on the same port, the same client works again")
  void recoversWhenRedisReturns() throws Exception {
    int port = freePort();
    RedisHistory store = store("redis://127.0.0.1:" + port);
    String scope = scope("recovery");
    Process server = startRedis(port);
    try {
      assertEquals(1, await(store.append(scope, new JsonArray().add(turn("user", "before")), MINUTE)));

      server.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      Failure failure = awaitFailure(store.append(scope, new JsonArray().add(turn("user", "during")), MINUTE));
      assertEquals(503, failure.status());

      // the data went with the process (no persistence): only the append after the restart remains
      server = startRedis(port);
      assertEquals(1, await(store.append(scope, new JsonArray().add(turn("user", "after")), MINUTE)));
      assertEquals(new JsonArray().add(turn("user", "after")), await(store.load(scope)).turns());
    } finally {
      server.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static Process startRedis(int port) throws Exception {
    Process p;
    try {
      p = new ProcessBuilder("redis-server", "--port", String.valueOf(port), "--bind", "127.0.0.1",
          "--save", "", "--appendonly", "no")
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
      byte[] reply = in.readNBytes(7);
      return "+PONG\r\n".equals(new String(reply, StandardCharsets.US_ASCII));
    } catch (IOException e) {
      return false;
    }
  }
}
