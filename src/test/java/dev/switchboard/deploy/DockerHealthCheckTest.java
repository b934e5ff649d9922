package dev.switchboard.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.TestGateway;
import io.vertx.core.json.JsonArray;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The Dockerfile's HEALTHCHECK command, taken from the file and run as Docker would run it inside
 * the container (no Docker engine here): against a real gateway on the port the container's
 * environment names, and against a port where nothing listens.
 */
@DisplayName("The Dockerfile's health check")
class DockerHealthCheckTest {

  private static final Pattern HEALTHCHECK = Pattern.compile("(?ms)^HEALTHCHECK (.*?)CMD (\\[.*?\\])\\s*$");

  @Test
  @DisplayName("passes against a gateway that serves /healthz")
  void passesWhenServing() throws Exception {
    try (TestGateway gateway = TestGateway.builder().start()) {
      Run run = healthCheck(gateway.port());
      assertEquals(0, run.exit(), run.output());
    }
  }

  @Test
  @DisplayName("fails, within its timeout, when nothing listens")
  void failsWhenDown() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Run run = healthCheck(port);
    assertNotEquals(0, run.exit(), run.output());
  }

  @Test
  @DisplayName("has an interval, a timeout, a start period and retries")
  void timed() throws Exception {
    Matcher m = HEALTHCHECK.matcher(Files.readString(Path.of("Dockerfile")));
    assertTrue(m.find(), "no HEALTHCHECK ... CMD [...] in the Dockerfile");
    for (String option : List.of("--interval=", "--timeout=", "--start-period=", "--retries=")) {
      assertTrue(m.group(1).contains(option), "HEALTHCHECK without " + option);
    }
  }

  private record Run(int exit, String output) {
  }

  /** The exec-form CMD of the HEALTHCHECK, with SWITCHBOARD_HTTP_PORT set as in a container that overrides it. */
  private static Run healthCheck(int port) throws IOException, InterruptedException {
    Matcher m = HEALTHCHECK.matcher(Files.readString(Path.of("Dockerfile")).replace("\\\n", " "));
    assertTrue(m.find(), "no HEALTHCHECK ... CMD [...] in the Dockerfile");
    List<String> command = new JsonArray(m.group(2)).stream().map(String::valueOf).toList();
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    pb.environment().put("SWITCHBOARD_HTTP_PORT", Integer.toString(port));
    Process p = pb.start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("the health check did not end within 30 s");
    }
    return new Run(p.exitValue(), output);
  }
}
