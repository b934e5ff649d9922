package dev.switchboard.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.security.JwtSecret;
import dev.switchboard.security.Tokens;
import dev.switchboard.testing.FakePlatform;
import dev.switchboard.testing.FakeUpstream;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged gateway ({@code target/switchboard.jar}) killed with SIGKILL twice while it pushes
 * the results of 250 tasks to a webhook that answers slowly (so that pushes are on the wire for a
 * while). The platform counts what it receives per task and knows which requests it had received
 * but not answered when each kill came. Afterwards every task has succeeded and pushed, and a
 * result arrived twice only if it was on the wire at a kill: nothing else repeats.
 */
@DisplayName("Pushes when the gateway is killed")
class PushRepeatsUnderKillIT {

  static final Path JAR = Path.of("target", "switchboard.jar");
  static final String SECRET = "kill-test-secret-0123456789abcdef0123";
  static final int TASKS = 250;
  /**
   * Slow enough that a push is on the wire most of the time, and that the pushes left after the
   * last kill make a line longer than a push's 30-second deadline: a deadline that counted the
   * wait in line used to send the tail of that line twice.
   */
  static final Duration ANSWER_AFTER = Duration.ofMillis(150);
  /** While the tasks go in: almost nothing is pushed yet, and nothing waits as long as the gateway's 10 s idle timeout. */
  static final Duration ANSWER_SLOWLY = Duration.ofSeconds(2);
  /** The whole test, start to finish. */
  static final long BUDGET_MS = 115_000;

  Vertx vertx;
  FakeUpstream upstream;
  FakePlatform sink;
  Process gateway;
  final List<Process> started = new ArrayList<>();
  final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  Path conf;
  Path data;
  int port;
  String token;
  long deadline;

  @BeforeEach
  void start(@TempDir Path conf, @TempDir Path data) throws Exception {
    deadline = System.currentTimeMillis() + BUDGET_MS;
    assertTrue(Files.exists(JAR), "run mvn package first: " + JAR + " is missing");
    vertx = Vertx.vertx();
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    sink = FakePlatform.start(vertx, "{\"ok\":true}").await(10, TimeUnit.SECONDS).answerAfter(ANSWER_AFTER);
    this.conf = conf;
    this.data = data;
    Files.writeString(conf.resolve("channels.yaml"), """
        webhooks:
          - name: "sink"
            url: "%s"
            secret: "sink-secret"
        """.formatted(sink.url("/hook")));
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Vertx v = Vertx.vertx();
    try {
      token = Tokens.issue(Tokens.auth(v, new JwtSecret(SECRET, "test")), "kill-test", Duration.ofHours(1));
    } finally {
      v.close();
    }
  }

  @AfterEach
  void stopAll() throws Exception {
    for (Process p : started) {
      if (p.isAlive()) {
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
      }
    }
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  /** Starts the jar and waits for its banner. */
  private void boot() throws Exception {
    List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-jar", JAR.toString());
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    pb.environment().keySet().removeIf(k -> k.startsWith("SWITCHBOARD_") || k.startsWith("MODEL_") || k.startsWith("DINGTALK_")
        || k.startsWith("FEISHU_") || k.startsWith("WECOM_") || k.endsWith("_HOOK_URL") || k.endsWith("_HOOK_SECRET"));
    pb.environment().putAll(Map.of(
        "SWITCHBOARD_CONF_DIR", conf.toString(),
        "SWITCHBOARD_DATA_DIR", data.toString(),
        "SWITCHBOARD_HTTP_PORT", String.valueOf(port),
        "SWITCHBOARD_JWT_SECRET", SECRET,
        "MODEL_ENDPOINT", upstream.baseUrl(),
        "MODEL_API_KEY", "upstream-key",
        "MODEL_NAME", "fake-model",
        // the fakes are on loopback, which the shipped configuration refuses
        "SWITCHBOARD_OUTBOUND_ALLOW", "127.0.0.1,localhost,::1"));
    gateway = pb.start();
    started.add(gateway);
    LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(gateway.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          lines.add(line);
        }
      } catch (IOException ignored) {
        // the process ended
      }
    });
    reader.setDaemon(true);
    reader.start();
    while (System.currentTimeMillis() < deadline) {
      String line = lines.poll(200, TimeUnit.MILLISECONDS);
      if (line != null && line.contains("switchboard listening on")) {
        return;
      }
      if (line == null && !gateway.isAlive()) {
        throw new AssertionError("the gateway exited with " + gateway.exitValue() + ": " + String.join("\n", lines));
      }
    }
    throw new AssertionError("the gateway did not start in time");
  }

  /**
   * SIGKILL while a push is on the wire: the platform stops answering, the next push arrives and
   * waits, and the process is killed. The gateway sends a bot's next push only once the outcome of
   * the last one is recorded, so what is on the wire then is all a restart may send again.
   * Returns the texts that were on the wire.
   */
  private List<String> killMidPush() throws Exception {
    sink.hold();
    await(() -> !sink.held().isEmpty(), "a push on the wire");
    List<String> onTheWire = sink.inFlight().stream().map(r -> r.json().getString("text")).toList();
    gateway.destroyForcibly(); // SIGKILL
    assertTrue(gateway.waitFor(15, TimeUnit.SECONDS));
    sink.release();
    return onTheWire;
  }

  private void await(BooleanSupplier condition, String what) throws InterruptedException {
    while (!condition.getAsBoolean()) {
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError("out of time waiting for " + what);
      }
      Thread.sleep(20);
    }
  }

  private HttpResponse<String> get(String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(10)).header("Authorization", "Bearer " + token).GET().build(), HttpResponse.BodyHandlers.ofString());
  }

  private void log(String what) {
    System.out.println((System.currentTimeMillis() - (deadline - BUDGET_MS)) + " ms: " + what + " (" + sink.received().size() + " pushes)");
  }

  /** Submits the tasks, eight at a time; their ids in input order. */
  private List<String> submit() throws Exception {
    String[] ids = new String[TASKS];
    Semaphore room = new Semaphore(8);
    List<CompletableFuture<Void>> sent = new ArrayList<>();
    for (int i = 0; i < TASKS; i++) {
      int n = i;
      String input = "n-%03d".formatted(i);
      JsonObject body = new JsonObject().put("input", input).put("idempotency_key", input)
          .put("channels", new JsonArray().add(new JsonObject().put("type", "webhook").put("bot", "sink")));
      room.acquire();
      sent.add(http.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/v1/tasks"))
              .timeout(Duration.ofSeconds(20)).header("Authorization", "Bearer " + token).header("content-type", "application/json")
              .POST(HttpRequest.BodyPublishers.ofString(body.encode())).build(), HttpResponse.BodyHandlers.ofString())
          .thenAccept(r -> {
            assertEquals(202, r.statusCode(), r.body());
            ids[n] = new JsonObject(r.body()).getString("id");
          })
          .whenComplete((v, e) -> room.release()));
    }
    CompletableFuture.allOf(sent.toArray(new CompletableFuture[0])).get(60, TimeUnit.SECONDS);
    return List.of(ids);
  }

  /** How many times each task's result reached the platform. */
  private Map<String, Integer> pushesPerText() {
    Map<String, Integer> counts = new TreeMap<>();
    sink.received().forEach(r -> counts.merge(r.json().getString("text"), 1, Integer::sum));
    return counts;
  }

  @Test
  @DisplayName("killed twice with -9 mid-run: every task succeeds and pushes, and only pushes on the wire at a kill repeat")
  void killedTwice() throws Exception {
    boot();
    log("started");
    sink.answerAfter(ANSWER_SLOWLY);
    List<String> ids = submit();
    sink.answerAfter(ANSWER_AFTER);
    log("submitted " + TASKS + " tasks");
    List<List<String>> onTheWire = new ArrayList<>();
    int first = sink.received().size() + 10;
    await(() -> sink.received().size() >= first, first + " pushes");
    onTheWire.add(killMidPush());
    log("first kill");
    boot();
    log("restarted");
    int second = sink.received().size() + 20;
    await(() -> sink.received().size() >= second, second + " pushes");
    onTheWire.add(killMidPush());
    log("second kill");
    boot();
    log("restarted");

    await(() -> pushesPerText().size() >= TASKS, "a push of every task");
    Map<String, String> status = new HashMap<>();
    await(() -> {
      try {
        for (String id : ids) {
          if (!"succeeded".equals(status.get(id))) {
            JsonObject task = new JsonObject(get("/api/v1/tasks/" + id).body());
            JsonArray deliveries = task.getJsonArray("deliveries", new JsonArray());
            boolean delivered = deliveries.size() == 1 && "delivered".equals(deliveries.getJsonObject(0).getString("status"));
            status.put(id, delivered ? task.getString("status") : "pushing");
          }
        }
      } catch (Exception e) {
        return false;
      }
      return status.values().stream().allMatch("succeeded"::equals);
    }, "every task succeeded and delivered");

    log("all succeeded");
    Map<String, Integer> counts = pushesPerText();
    Map<String, Integer> kills = new HashMap<>();
    onTheWire.forEach(wire -> wire.forEach(t -> kills.merge(t, 1, Integer::sum)));
    int repeats = counts.values().stream().mapToInt(c -> c - 1).sum();
    int inFlight = onTheWire.stream().mapToInt(List::size).sum();
    System.out.println("pushes " + sink.received().size() + ", repeats " + repeats + ", on the wire at the kills " + onTheWire);
    assertEquals(TASKS, counts.size(), "every task pushed");
    for (int i = 0; i < TASKS; i++) {
      String text = "echo: n-%03d".formatted(i);
      int extra = counts.getOrDefault(text, 0) - 1;
      assertTrue(extra <= kills.getOrDefault(text, 0),
          text + " pushed " + (extra + 1) + " times but on the wire at " + kills.getOrDefault(text, 0) + " kills");
    }
    assertTrue(repeats <= inFlight, repeats + " repeats, " + inFlight + " on the wire at the kills");
  }
}
