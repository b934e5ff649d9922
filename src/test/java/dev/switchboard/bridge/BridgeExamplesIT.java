package dev.switchboard.bridge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The bridge examples in {@code examples/} run as a user runs them, each submitting a task and
 * waiting for its result event. Node.js with the example's packages ({@code npm ci --prefix
 * examples/bridge-node}, which scripts/test.sh runs) and python3 are needed: missing, the test fails.
 */
@ExtendWith(VertxExtension.class)
@DisplayName("Bridge examples")
class BridgeExamplesIT {

  static final Path NODE = Path.of("examples", "bridge-node");
  static final Path PYTHON = Path.of("examples", "bridge-python");

  FakeUpstream upstream;
  TestGateway gateway;
  int tcpPort;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    try (ServerSocket free = new ServerSocket(0)) {
      tcpPort = free.getLocalPort();
    }
    gateway = TestGateway.builder().upstream(upstream.baseUrl())
        .file("switchboard.yaml", BridgeBehaviour.CONF.formatted(tcpPort)).start();
  }

  @AfterEach
  void stop() {
    if (gateway != null) {
      gateway.close();
    }
  }

  @Test
  @DisplayName("the Node example (vertx eventbus client over SockJS) submits a task and receives its result")
  void nodeExample() throws Exception {
    if (!Files.isDirectory(NODE.resolve("node_modules").resolve("@vertx").resolve("eventbus-bridge-client.js"))) {
      fail("the Node example's packages are not installed: run `npm ci --prefix examples/bridge-node` (scripts/test.sh does)");
    }
    JsonObject event = run(List.of("node", NODE.resolve("submit.js").toString(), gateway.url("/eventbus"),
        "hello from node", "fake-model"));
    assertEquals("succeeded", event.getString("status"), event.encode());
    assertFalse(event.getString("result", "").isEmpty(), event.encode());
  }

  @Test
  @DisplayName("the Python example (raw TCP framing, standard library) submits a task and receives its result")
  void pythonExample() throws Exception {
    JsonObject event = run(List.of("python3", PYTHON.resolve("submit.py").toString(), "127.0.0.1", String.valueOf(tcpPort),
        "hello from python", "fake-model"));
    assertEquals("succeeded", event.getString("status"), event.encode());
    assertFalse(event.getString("result", "").isEmpty(), event.encode());
  }

  @Test
  @DisplayName("the Python example with a bad token is refused with access_denied")
  void pythonExampleBadToken() throws Exception {
    Process p = process(List.of("python3", PYTHON.resolve("submit.py").toString(), "127.0.0.1", String.valueOf(tcpPort),
        "never", "fake-model"), "not.a.jwt");
    Output out = finish(p);
    assertEquals(1, out.exit(), out.text());
    assertTrue(out.text().contains("access_denied"), out.text());
  }

  private JsonObject run(List<String> command) throws Exception {
    Output out = finish(process(command, gateway.token("example")));
    assertEquals(0, out.exit(), String.join(" ", command) + " failed:\n" + out.text());
    String last = out.text().substring(out.text().lastIndexOf('\n') + 1);
    assertTrue(last.startsWith("{"), "no JSON line from " + command + ":\n" + out.text());
    return new JsonObject(last);
  }

  private record Output(int exit, String text) {
  }

  private static Process process(List<String> command, String token) throws IOException {
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().put("SWITCHBOARD_TOKEN", token);
    builder.environment().put("SWITCHBOARD_WAIT_SECONDS", "60");
    Path log = Files.createTempFile("switchboard-example", ".log");
    log.toFile().deleteOnExit();
    builder.redirectOutput(log.toFile());
    try {
      Process p = builder.start();
      LOGS.put(p, log);
      return p;
    } catch (IOException e) {
      throw new AssertionError(command.get(0) + " is needed for this test and could not be started (" + e.getMessage()
          + "); scripts/test.sh installs Node.js", e);
    }
  }

  private static final java.util.Map<Process, Path> LOGS = new java.util.concurrent.ConcurrentHashMap<>();

  private static Output finish(Process p) throws Exception {
    Path log = LOGS.remove(p);
    try {
      if (!p.waitFor(90, TimeUnit.SECONDS)) {
        fail("the example did not finish within 90 s:\n" + Files.readString(log, StandardCharsets.UTF_8));
      }
      return new Output(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8).strip());
    } finally {
      p.destroyForcibly();
      Files.deleteIfExists(log);
    }
  }
}
