package dev.switchboard.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The packaged {@code target/switchboard.jar}, run the way the README tells a user to. */
@DisplayName("The fat jar")
class FatJarIT {

  static final Path JAR = Path.of("target", "switchboard.jar");
  final List<Process> started = new ArrayList<>();

  @AfterEach
  void stopAll() throws Exception {
    for (Process p : started) {
      p.destroy();
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    }
  }

  private Process java(Map<String, String> env, String... args) throws IOException {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-jar", JAR.toString()));
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().keySet().removeIf(k -> k.startsWith("SWITCHBOARD_") || k.startsWith("MODEL_") || k.startsWith("DINGTALK_"));
    pb.environment().putAll(env);
    Process p = pb.start();
    started.add(p);
    return p;
  }

  /** Lines the process prints, read on a thread of their own so the test can wait with a bound. */
  private static LinkedBlockingQueue<String> lines(java.io.InputStream in) {
    LinkedBlockingQueue<String> queue = new LinkedBlockingQueue<>();
    Thread t = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          queue.add(line);
        }
      } catch (IOException ignored) {
        // process ended
      }
    });
    t.setDaemon(true);
    t.start();
    return queue;
  }

  private static String awaitLine(LinkedBlockingQueue<String> lines, String containing) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline) {
      String line = lines.poll(200, TimeUnit.MILLISECONDS);
      if (line != null && line.contains(containing)) {
        return line;
      }
    }
    throw new AssertionError("no line containing '" + containing + "' within 30 s");
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static HttpResponse<String> get(int port, String path, String token) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(10));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return HttpClient.newHttpClient().send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  @DisplayName("starts with no services and no secret, says where it listens, and accepts a token minted by the token command")
  void startsAndMintsTokens(@TempDir Path data) throws Exception {
    int port = freePort();
    Map<String, String> env = Map.of("SWITCHBOARD_DATA_DIR", data.toString(), "SWITCHBOARD_HTTP_PORT", String.valueOf(port));
    Process gateway = java(env);
    LinkedBlockingQueue<String> out = lines(gateway.getInputStream());
    String generated = awaitLine(out, "generated one in");
    String banner = awaitLine(out, "switchboard listening on");
    assertTrue(generated.contains("mode 600"), generated);
    assertTrue(banner.contains("http://127.0.0.1:" + port), banner);
    assertTrue(banner.contains("providers: default (off: endpoint unset (MODEL_ENDPOINT), key unset (MODEL_API_KEY))"), banner);
    assertTrue(banner.contains("bots: dingtalk/default (off: webhook unset (DINGTALK_WEBHOOK))"), banner);
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(data.resolve("jwt-secret"))));
    assertEquals(200, get(port, "/healthz", null).statusCode());
    // the console's files are read from inside the jar, with no token
    HttpResponse<String> console = get(port, "/console/app.js", null);
    assertEquals(200, console.statusCode());
    assertTrue(console.headers().firstValue("content-type").orElse("").contains("javascript"), console.headers().toString());

    Process mint = java(env, "token", "--sub", "alice", "--ttl", "1h");
    assertTrue(mint.waitFor(30, TimeUnit.SECONDS));
    assertEquals(0, mint.exitValue());
    String token = new String(mint.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    assertEquals(3, token.split("\\.").length, token);

    assertEquals(401, get(port, "/api/v1/tasks/x", null).statusCode());
    HttpResponse<String> withToken = get(port, "/api/v1/tasks/x", token);
    assertEquals(404, withToken.statusCode(), withToken.body());
    HttpResponse<String> chat = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
        .header("Authorization", "Bearer " + token).header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
        .build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(503, chat.statusCode());
    assertTrue(chat.body().contains("MODEL_ENDPOINT"), chat.body());

    gateway.destroy();
    assertTrue(gateway.waitFor(15, TimeUnit.SECONDS), "SIGTERM stops the gateway");
  }

  @Test
  @DisplayName("a second gateway on the same data folder refuses to start, naming the folder and the PID holding it")
  void oneGatewayPerDataFolder(@TempDir Path data) throws Exception {
    int port = freePort();
    Process first = java(Map.of("SWITCHBOARD_DATA_DIR", data.toString(), "SWITCHBOARD_HTTP_PORT", String.valueOf(port)));
    awaitLine(lines(first.getInputStream()), "switchboard listening on");

    Process second = java(Map.of("SWITCHBOARD_DATA_DIR", data.toString(), "SWITCHBOARD_HTTP_PORT", String.valueOf(freePort())));
    assertTrue(second.waitFor(30, TimeUnit.SECONDS), "the second gateway exits instead of running");
    assertEquals(1, second.exitValue());
    List<String> err = new String(second.getErrorStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
    assertEquals(1, err.size(), String.join("\n", err));
    assertTrue(err.get(0).contains(data.toAbsolutePath().normalize().toString()), err.get(0));
    assertTrue(err.get(0).contains("PID " + first.pid()), err.get(0));
    assertEquals(200, get(port, "/healthz", null).statusCode(), "the first one still serves");
  }

  @Test
  @DisplayName("a bad setting stops start-up with one line naming file, key and problem, and exit code 2")
  void badConfig(@TempDir Path conf, @TempDir Path data) throws Exception {
    Files.writeString(conf.resolve("switchboard.yaml"), "server:\n  port: not-a-port\n");
    Process p = java(Map.of("SWITCHBOARD_CONF_DIR", conf.toString(), "SWITCHBOARD_DATA_DIR", data.toString()));
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    assertEquals(2, p.exitValue());
    List<String> err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
    assertEquals(1, err.size(), String.join("\n", err));
    assertTrue(err.get(0).contains("switchboard.yaml: server.port: expected a whole number, got 'not-a-port'"), err.get(0));
  }
}
