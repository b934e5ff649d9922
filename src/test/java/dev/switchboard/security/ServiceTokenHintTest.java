package dev.switchboard.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A gateway run as a service (its configuration and data named by {@code SWITCHBOARD_CONF_DIR} and
 * {@code SWITCHBOARD_DATA_DIR}, its secret in {@code SWITCHBOARD_JWT_SECRET}) tells a client
 * without a token how to mint one that it will accept: with those folders, and the secret set as
 * for the gateway, never printed. The gateway is a process of its own here, since the hint reads
 * the process's real environment.
 */
@DisplayName("The token hint of a gateway run as a service")
class ServiceTokenHintTest {

  static final String SECRET = "service-secret-0123456789abcdef0123456789";
  final List<Process> started = new ArrayList<>();

  @AfterEach
  void stop() throws Exception {
    for (Process p : started) {
      p.destroy();
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** Waits (60 s at most) for a line of the process's output that contains {@code text}. */
  private static String awaitLine(LinkedBlockingQueue<String> lines, String text) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    List<String> seen = new ArrayList<>();
    while (System.nanoTime() < deadline) {
      String line = lines.poll(200, TimeUnit.MILLISECONDS);
      if (line != null) {
        seen.add(line);
        if (line.contains(text)) {
          return line;
        }
      }
    }
    throw new AssertionError("no line with '" + text + "' in: " + String.join("\n", seen));
  }

  @Test
  @DisplayName("the 401 without a token names SWITCHBOARD_CONF_DIR and SWITCHBOARD_DATA_DIR, and the secret's variable but not its value")
  void serviceHint(@TempDir Path dir) throws Exception {
    Path conf = Files.createDirectories(dir.resolve("etc"));   // empty: the built-in files are used
    Path data = dir.resolve("var");
    int port = freePort();
    ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-cp", System.getProperty("java.class.path"), "dev.switchboard.Main").redirectErrorStream(true);
    pb.environment().keySet().removeIf(k -> k.startsWith("SWITCHBOARD_") || k.startsWith("MODEL_") || k.startsWith("DINGTALK_"));
    pb.environment().put("SWITCHBOARD_CONF_DIR", conf.toString());
    pb.environment().put("SWITCHBOARD_DATA_DIR", data.toString());
    pb.environment().put("SWITCHBOARD_JWT_SECRET", SECRET);
    pb.environment().put("SWITCHBOARD_HTTP_PORT", String.valueOf(port));
    Process gateway = pb.start();
    started.add(gateway);
    LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(gateway.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line = r.readLine(); line != null; line = r.readLine()) {
          lines.add(line);
        }
      } catch (IOException ended) {
        // the process is gone
      }
    });
    reader.setDaemon(true);
    reader.start();
    awaitLine(lines, "ready in");

    HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/models"))
        .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(401, r.statusCode(), r.body());
    String message = new JsonObject(r.body()).getJsonObject("error").getString("message");
    assertTrue(message.contains("mint one with: SWITCHBOARD_CONF_DIR=" + conf + " SWITCHBOARD_DATA_DIR=" + data + " "
        + SelfCommand.java() + " token --sub <name>, with SWITCHBOARD_JWT_SECRET set as for the gateway"), message);
    assertFalse(message.contains(SECRET), message);
  }
}
