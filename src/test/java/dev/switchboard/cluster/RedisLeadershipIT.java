package dev.switchboard.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.Failure;
import dev.switchboard.bus.Health;
import dev.switchboard.testing.TcpProxy;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Leadership and the registry in Redis (env {@code REDIS_URL}, started by {@code scripts/test.sh});
 * fails, never skips, without it. Every test has a key namespace of its own, and the default
 * timing (10 s leases, 1 s ticks), as in production. An instance dies by being cut off from Redis
 * ({@link TcpProxy}): it can neither renew nor hand anything back, as after kill -9 or a partition.
 */
@DisplayName("Leadership and the instance registry, in Redis")
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RedisLeadershipIT extends LeadershipBehaviour {

  /** The promise of issue 10: a dead holder is replaced within this. */
  static final Duration TAKEOVER = Duration.ofSeconds(15);

  static String redisUrl;
  static Vertx helper;
  String namespace;
  final List<TcpProxy> proxies = new CopyOnWriteArrayList<>();
  final List<String> logged = new CopyOnWriteArrayList<>();
  /** Held here: the logging framework keeps loggers only weakly, and with them their handlers. */
  final Logger leadershipLog = Logger.getLogger(RedisLeadership.class.getName());
  final Handler capture = new Handler() {
    @Override
    public void publish(LogRecord record) {
      logged.add(record.getLevel() + " " + record.getMessage());
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
    }
  };

  @BeforeAll
  static void redis() {
    redisUrl = System.getenv("REDIS_URL");
    assertNotNull(redisUrl, "REDIS_URL is not set: run the integration tests through scripts/test.sh");
    helper = Vertx.vertx();
  }

  @AfterAll
  static void stopHelper() throws Exception {
    helper.close().await(20, TimeUnit.SECONDS);
  }

  @BeforeEach
  void fresh() {
    namespace = "switchboard:it:" + UUID.randomUUID() + ":";
    leadershipLog.addHandler(capture);
  }

  @AfterEach
  void unhook() {
    leadershipLog.removeHandler(capture);
  }

  @Override
  Contender contender() throws Exception {
    return contender(redisUrl);
  }

  Contender contender(String url) throws Exception {
    return started(Contender.start(new ClusterVerticle("distributed", url, namespace, RedisLeadership.Timing.DEFAULT)));
  }

  /** An instance whose Redis connection goes through a relay the test can cut. */
  Contender cuttable(TcpProxy[] proxy) throws Exception {
    URI uri = URI.create(redisUrl);
    proxy[0] = TcpProxy.start(helper, uri.getHost(), uri.getPort()).await(10, TimeUnit.SECONDS);
    proxies.add(proxy[0]);
    return contender(redisUrl.replaceFirst(uri.getHost() + ":" + uri.getPort(), "127.0.0.1:" + proxy[0].port()));
  }

  private String get(String key) throws Exception {
    Redis r = Redis.createClient(helper, redisUrl);
    try {
      var v = r.send(Request.cmd(Command.GET).arg(key)).await(10, TimeUnit.SECONDS);
      return v == null ? null : v.toString();
    } finally {
      r.close().await(10, TimeUnit.SECONDS);
    }
  }

  private static boolean lists(Contender asker, Contender c) throws Exception {
    return asker.instances().stream().anyMatch(o -> c.id().equals(((JsonObject) o).getString("id")));
  }

  private long count(String text) {
    return logged.stream().filter(l -> l.contains(text)).count();
  }

  @Test
  @DisplayName("of two instances exactly one leads, and the other knows which one and its token")
  void oneOfTwoLeads() throws Exception {
    Contender a = contender();
    Contender b = contender();
    Until.holds(Duration.ofSeconds(10), "the follower knows the holder", () -> a.id().equals(b.lease().holder()));
    assertTrue(a.lease().leader(), "the first to start leads");
    assertFalse(b.lease().leader());
    assertEquals(a.lease().token(), b.lease().token());
    for (int i = 0; i < 30; i++) { // through several renewals and attempts
      Thread.sleep(100);
      assertTrue(a.lease().leader() && !b.lease().leader(), a.lease() + " / " + b.lease());
    }
  }

  @Test
  @DisplayName("a leader cut off from Redis reports itself not leader, and the other takes over within 15 s with a larger token")
  void takeoverAfterDeath() throws Exception {
    TcpProxy[] proxy = new TcpProxy[1];
    Contender a = cuttable(proxy);
    Contender b = contender();
    Until.holds(Duration.ofSeconds(10), "b sees a lead", () -> a.id().equals(b.lease().holder()));
    long before = a.lease().token();

    proxy[0].down().await(10, TimeUnit.SECONDS);
    long cut = System.nanoTime();
    Until.holds(Duration.ofSeconds(30), "b leads", () -> b.lease().leader());
    Duration took = Duration.ofNanos(System.nanoTime() - cut);

    assertFalse(a.lease().leader(), "a stepped down before b could take over: never two leaders");
    assertTrue(took.compareTo(TAKEOVER) <= 0, "taken over after " + took.toMillis() + " ms");
    assertTrue(b.lease().token() > before, before + " then " + b.lease().token());
    assertEquals(1, count("instance " + b.id() + " is now the leader (fencing token " + b.lease().token() + ")"), logged.toString());
    assertEquals(1, count("instance " + a.id() + " is no longer the leader: it could not renew its lease for 9.0s"), logged.toString());

    // back on the network, a follows the new leader instead of resuming with its old token
    proxy[0].up().await(10, TimeUnit.SECONDS);
    Until.holds(Duration.ofSeconds(10), "a sees b lead", () -> b.id().equals(a.lease().holder()));
    assertFalse(a.lease().leader());
    assertEquals(1, count(a.id() + " is no longer the leader"), "the loss was logged once: " + logged);
    assertEquals(1, count(a.id() + " is now the leader"), "and a did not lead again: " + logged);
  }

  @Test
  @DisplayName("fencing tokens increase with every change of leader")
  void tokensIncrease() throws Exception {
    Contender a = contender();
    Contender b = contender();
    long first = a.lease().token();
    a.close();
    Until.holds(TAKEOVER, "b leads", () -> b.lease().leader());
    long second = b.lease().token();
    Contender c = contender();
    Until.holds(Duration.ofSeconds(10), "c sees b lead", () -> b.id().equals(c.lease().holder()));
    b.close();
    Until.holds(TAKEOVER, "c leads", () -> c.lease().leader());
    long third = c.lease().token();
    assertTrue(first < second && second < third, first + ", " + second + ", " + third);
  }

  @Test
  @DisplayName("a leader that stops hands its lease back at once instead of letting it expire")
  void stopHandsBack() throws Exception {
    Contender a = contender();
    assertEquals(a.id() + " " + a.lease().token(), get(namespace + "leader"));
    a.close();
    assertNull(get(namespace + "leader"));
    assertEquals(1, count("instance " + a.id() + " hands back the lead"), logged.toString());
  }

  @Test
  @DisplayName("a leader that lost Redis does not lead until it holds the lease again")
  void lostRedisMeansNotLeader() throws Exception {
    TcpProxy[] proxy = new TcpProxy[1];
    Contender a = cuttable(proxy);
    assertTrue(a.lease().leader());
    proxy[0].down().await(10, TimeUnit.SECONDS);
    Until.holds(Duration.ofSeconds(20), "a reports itself not leader", () -> !a.lease().leader());
    // nobody else took the lease: once back, a takes it again, under a new token
    long lost = a.lease().token();
    proxy[0].up().await(10, TimeUnit.SECONDS);
    Until.holds(Duration.ofSeconds(10), "a leads again", () -> a.lease().leader());
    assertTrue(a.lease().token() > lost, lost + " then " + a.lease().token());
  }

  @Test
  @DisplayName("the registry lists both instances, one of them as leader")
  void bothListed() throws Exception {
    Contender a = contender();
    Contender b = contender();
    Until.holds(Duration.ofSeconds(10), "both listed", () -> lists(a, b) && lists(b, a) && lists(a, a));
    JsonArray all = a.instances();
    assertEquals(2, all.size(), all.encode());
    assertEquals(1, all.stream().filter(o -> ((JsonObject) o).getBoolean("leader")).count(), all.encode());
    JsonObject leader = all.stream().map(o -> (JsonObject) o).filter(o -> o.getBoolean("leader")).findFirst().orElseThrow();
    assertEquals(a.id(), leader.getString("id"));
    for (Object o : all) {
      JsonObject e = (JsonObject) o;
      assertEquals(List.of("id", "version", "started_at", "running", "leader"), List.copyOf(e.fieldNames()), e.encode());
    }
  }

  @Test
  @DisplayName("an instance cut off from Redis drops out of the registry within about 15 s")
  void deadInstanceDropsOut() throws Exception {
    Contender a = contender();
    TcpProxy[] proxy = new TcpProxy[1];
    Contender b = cuttable(proxy);
    Until.holds(Duration.ofSeconds(10), "b listed", () -> lists(a, b));
    proxy[0].down().await(10, TimeUnit.SECONDS);
    Until.holds(Duration.ofSeconds(20), "b gone from the list", () -> !lists(a, b));
    assertTrue(lists(a, a), "a, which still reports, stays");
  }

  @Test
  @DisplayName("an instance that stops leaves the registry at once")
  void stoppedInstanceLeaves() throws Exception {
    Contender a = contender();
    Contender b = contender();
    Until.holds(Duration.ofSeconds(10), "b listed", () -> lists(a, b));
    b.close();
    assertFalse(lists(a, b), a.instances().encode());
  }

  @Test
  @DisplayName("an entry's running is what the task component's health says runs now")
  void runningFromTaskHealth() throws Exception {
    Contender a = contender();
    // stands in for the task component: the same address and reply shape as task.health
    a.vertx.eventBus().<Void>localConsumer(Addresses.TASK_HEALTH, m -> m.reply(new Health(new JsonObject()
        .put("queue", new JsonObject().put("status", "up").put("required", true).put("running", 3)))))
        .completion().await(10, TimeUnit.SECONDS);
    Until.holds(Duration.ofSeconds(10), "running 3 reported", () -> a.instances().stream()
        .anyMatch(o -> ((JsonObject) o).getInteger("running") == 3));
  }

  @Test
  @DisplayName("cluster.instances answers 503 naming Redis while Redis cannot be reached")
  void registryDown() throws Exception {
    TcpProxy[] proxy = new TcpProxy[1];
    Contender a = cuttable(proxy);
    proxy[0].down().await(10, TimeUnit.SECONDS);
    Throwable t = org.junit.jupiter.api.Assertions.assertThrows(Throwable.class, a::instances);
    Failure f = Failure.from(t);
    assertEquals(503, f.status(), f.getMessage());
    assertTrue(f.getMessage().contains("Redis"), f.getMessage());
    proxy[0].up().await(10, TimeUnit.SECONDS);
  }
}
