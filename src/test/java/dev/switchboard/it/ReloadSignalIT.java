package dev.switchboard.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.security.JwtSecret;
import dev.switchboard.security.Tokens;
import dev.switchboard.testing.FakeUpstream;
import io.vertx.core.Vertx;
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
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SIGHUP to the packaged jar reloads the configuration as POST /api/v1/admin/reload does, and says what happened. */
@DisplayName("SIGHUP reloads the running jar")
class ReloadSignalIT {

  static final String SECRET = "signal-test-secret-0123456789abcdef0123";

  Vertx vertx;
  FakeUpstream upstream;
  Process gateway;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
  }

  @AfterEach
  void stop() throws Exception {
    if (gateway != null) {
      gateway.destroy();
      if (!gateway.waitFor(15, TimeUnit.SECONDS)) {
        gateway.destroyForcibly();
      }
    }
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private String providers(String... models) {
    StringBuilder yaml = new StringBuilder("providers:\n");
    for (String m : models) {
      yaml.append("  - { name: \"").append(m).append("\", type: \"api_gateway\", endpoint: \"").append(upstream.baseUrl())
          .append("\", models: [\"").append(m).append("\"] }\n");
    }
    return yaml.toString();
  }

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

  private static void hangUp(Process p) throws Exception {
    Process kill = new ProcessBuilder("kill", "-HUP", Long.toString(p.pid())).start();
    assertTrue(kill.waitFor(10, TimeUnit.SECONDS));
    assertEquals(0, kill.exitValue());
  }

  private static int chat(int port, String token, String model) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
        .header("Authorization", "Bearer " + token).header("content-type", "application/json").timeout(Duration.ofSeconds(20))
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
        .build(), HttpResponse.BodyHandlers.ofString()).statusCode();
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private LinkedBlockingQueue<String> launch(Path conf, Path data, int port) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-jar", Path.of("target", "switchboard.jar").toString());
    pb.environment().keySet().removeIf(k -> k.startsWith("SWITCHBOARD_") || k.startsWith("MODEL_") || k.startsWith("DINGTALK_"));
    pb.environment().put("SWITCHBOARD_CONF_DIR", conf.toString());
    pb.environment().put("SWITCHBOARD_DATA_DIR", data.toString());
    pb.environment().put("SWITCHBOARD_HTTP_PORT", String.valueOf(port));
    pb.environment().put("SWITCHBOARD_JWT_SECRET", SECRET);
    pb.environment().put("SWITCHBOARD_OUTBOUND_ALLOW", "127.0.0.1");
    pb.redirectErrorStream(true);
    gateway = pb.start();
    return lines(gateway.getInputStream());
  }

  @Test
  @DisplayName("a SIGHUP while the gateway is still starting (systemctl reload right after start) does not stop it")
  void hangupDuringStartUpDoesNotStopIt(@TempDir Path conf, @TempDir Path data) throws Exception {
    Files.writeString(conf.resolve("switchboard.yaml"), "queue: { workers: 1 }\n");
    Files.writeString(conf.resolve("model_provider.yaml"), providers("model-a"));
    Files.writeString(conf.resolve("channels.yaml"), "{}\n");
    Files.writeString(conf.resolve("rules.yaml"), "rules: []\n");
    LinkedBlockingQueue<String> out = launch(conf, data, freePort());
    // printed once the data folder is locked, before the components deploy
    awaitLine(out, "legacy_tokens");

    hangUp(gateway);

    awaitLine(out, "switchboard listening on");
    assertTrue(gateway.isAlive(), "SIGHUP during start-up stopped the gateway");
  }

  @Test
  @DisplayName("a provider added to the file serves after SIGHUP; a broken file after another SIGHUP is refused, naming it, and changes nothing")
  void hangupReloads(@TempDir Path conf, @TempDir Path data) throws Exception {
    Files.writeString(conf.resolve("switchboard.yaml"), "queue: { workers: 1 }\n");
    Files.writeString(conf.resolve("model_provider.yaml"), providers("model-a"));
    Files.writeString(conf.resolve("channels.yaml"), "{}\n");
    Files.writeString(conf.resolve("rules.yaml"), "rules: []\n");
    int port = freePort();
    LinkedBlockingQueue<String> out = launch(conf, data, port);
    awaitLine(out, "switchboard listening on");
    String token;
    Vertx v = Vertx.vertx();
    try {
      token = Tokens.issue(Tokens.auth(v, new JwtSecret(SECRET, "test")), "ops", Duration.ofHours(1));
    } finally {
      v.close();
    }
    assertEquals(404, chat(port, token, "model-b"));

    Files.writeString(conf.resolve("model_provider.yaml"), providers("model-a", "model-b"));
    hangUp(gateway);

    String reloaded = awaitLine(out, "SIGHUP: ");
    assertTrue(reloaded.contains("SIGHUP: reloaded") && reloaded.contains("\"providers\":{\"added\":[\"model-b\"]"), reloaded);
    assertEquals(200, chat(port, token, "model-b"));

    Files.writeString(conf.resolve("model_provider.yaml"), providers("model-a") + "  - { name: \"broken\"\n");
    hangUp(gateway);

    String refused = awaitLine(out, "SIGHUP: ");
    assertTrue(refused.contains("not reloaded") && refused.contains("model_provider.yaml"), refused);
    assertEquals(200, chat(port, token, "model-b"));
    assertTrue(gateway.isAlive(), "SIGHUP must not stop the gateway");
    List.of(reloaded, refused).forEach(System.out::println);
  }
}
