package dev.switchboard.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
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
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The fat jar with SWITCHBOARD_LOG_FORMAT=json: what a log collector reads from the real process. */
@DisplayName("The fat jar's JSON logs")
class JsonLogsJarIT {

  static final Path JAR = Path.of("target", "switchboard.jar");
  static final String JWT_SECRET = "jar-it-jwt-Secret-0123456789abcdef0123456789";
  static final String MODEL_KEY = "sk-jar-it-Model-Key-55aa";
  static final String BAD_BEARER = "jar.it-Bad.Bearer-77cc";

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static HttpResponse<String> send(HttpRequest.Builder b) throws Exception {
    return HttpClient.newHttpClient().send(b.timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  @DisplayName("every log line on stderr is one JSON object; requests are logged with their id; no secret appears")
  void jsonLines(@TempDir Path data) throws Exception {
    int port = freePort();
    Path out = data.resolve("stdout.log");
    Path err = data.resolve("stderr.log");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    ProcessBuilder pb = new ProcessBuilder(java, "-jar", JAR.toString()).redirectOutput(out.toFile()).redirectError(err.toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("SWITCHBOARD_") || k.startsWith("MODEL_") || k.startsWith("DINGTALK_"));
    pb.environment().put("SWITCHBOARD_DATA_DIR", data.resolve("data").toString());
    pb.environment().put("SWITCHBOARD_HTTP_PORT", String.valueOf(port));
    pb.environment().put("SWITCHBOARD_JWT_SECRET", JWT_SECRET);
    pb.environment().put("SWITCHBOARD_LOG_FORMAT", "json");
    pb.environment().put("MODEL_ENDPOINT", "http://127.0.0.1:9/v1");
    pb.environment().put("MODEL_API_KEY", MODEL_KEY);
    pb.environment().put("SWITCHBOARD_OUTBOUND_ALLOW", "127.0.0.1");
    Process gateway = pb.start();
    String token;
    try {
      long deadline = System.currentTimeMillis() + 60_000;
      while (!Files.readString(out).contains("switchboard listening on")) {
        assertTrue(gateway.isAlive(), "the gateway exited: " + Files.readString(err));
        assertTrue(System.currentTimeMillis() < deadline, "no banner within 60 s: " + Files.readString(out) + Files.readString(err));
        Thread.sleep(100);
      }
      ProcessBuilder mint = new ProcessBuilder(java, "-jar", JAR.toString(), "token", "--sub", "alice");
      mint.environment().put("SWITCHBOARD_DATA_DIR", data.resolve("data").toString());
      mint.environment().put("SWITCHBOARD_JWT_SECRET", JWT_SECRET);
      Process minted = mint.start();
      assertTrue(minted.waitFor(30, TimeUnit.SECONDS));
      token = new String(minted.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();

      String base = "http://127.0.0.1:" + port;
      HttpResponse<String> ok = send(HttpRequest.newBuilder(URI.create(base + "/api/v1/tasks/nosuch"))
          .header("Authorization", "Bearer " + token).header("x-request-id", "jar-it-1"));
      assertEquals(404, ok.statusCode(), ok.body());
      assertEquals("jar-it-1", ok.headers().firstValue("x-request-id").orElse(null));
      HttpResponse<String> refused = send(HttpRequest.newBuilder(URI.create(base + "/api/v1/tasks/nosuch"))
          .header("Authorization", "Bearer " + BAD_BEARER));
      assertEquals(401, refused.statusCode());
      assertTrue(refused.headers().firstValue("x-request-id").isPresent());
      // the chat fails upstream (nothing listens on port 9): a model call line, an error, nothing secret
      send(HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
          .header("Authorization", "Bearer " + token).header("content-type", "application/json").header("x-request-id", "jar-it-2")
          .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")));
    } finally {
      gateway.destroy();
      assertTrue(gateway.waitFor(20, TimeUnit.SECONDS), "SIGTERM stops the gateway");
    }

    List<String> lines = Files.readAllLines(err);
    List<JsonObject> parsed = new ArrayList<>();
    for (String line : lines) {
      if (!line.isBlank()) {
        parsed.add(new JsonObject(line)); // throws on anything that is not one JSON object
      }
    }
    assertTrue(parsed.stream().anyMatch(l -> "http_request".equals(l.getString("event")) && "jar-it-1".equals(l.getString("request_id"))
        && l.getInteger("status") == 404 && "/api/v1/tasks/:id".equals(l.getString("route"))), String.join("\n", lines));
    assertTrue(parsed.stream().anyMatch(l -> "http_request".equals(l.getString("event")) && l.getInteger("status") == 401),
        String.join("\n", lines));
    assertTrue(parsed.stream().anyMatch(l -> "model_call".equals(l.getString("event")) && "jar-it-2".equals(l.getString("request_id"))),
        String.join("\n", lines));
    String everything = Files.readString(out) + Files.readString(err);
    for (String secret : List.of(JWT_SECRET, token, token.substring(token.lastIndexOf('.') + 1), MODEL_KEY, BAD_BEARER)) {
      assertFalse(everything.contains(secret), "a secret in the output: " + secret);
    }
  }
}
