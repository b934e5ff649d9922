package dev.switchboard.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A script in {@code src/test/node} (official clients installed by {@code npm ci --prefix src/test/node},
 * which scripts/test.sh runs) run as a process that prints one JSON line last. Missing Node.js or a
 * missing package fails the test: these tests check us against the real clients and must not skip.
 */
public final class NodeClient {

  public static final Path DIR = Path.of("src", "test", "node");

  private NodeClient() {
  }

  /**
   * Runs {@code script} with {@code args} from the calling JUnit thread (never an event loop) and
   * answers its last line as JSON; {@code needs} is the npm package it imports, e.g. {@code openai}.
   */
  public static JsonObject run(String script, String needs, String... args) throws IOException, InterruptedException {
    if (!Files.isDirectory(DIR.resolve("node_modules").resolve(needs))) {
      fail("the npm package " + needs + " is not installed: run `npm ci --prefix src/test/node` (scripts/test.sh does)");
    }
    List<String> command = new ArrayList<>(List.of("node", DIR.resolve(script).toString()));
    command.addAll(List.of(args));
    // output to a file: a pipe nobody reads while waiting could fill up and stall the client
    Path log = Files.createTempFile("switchboard-node", ".log");
    Process node;
    try {
      node = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    } catch (IOException e) {
      Files.deleteIfExists(log);
      throw new AssertionError("Node.js is needed for this test and could not be started (" + e.getMessage()
          + "); scripts/test.sh installs it", e);
    }
    try {
      if (!node.waitFor(120, TimeUnit.SECONDS)) {
        fail("the Node client " + script + " did not finish within 120 s");
      }
      String output = Files.readString(log, StandardCharsets.UTF_8).strip();
      assertEquals(0, node.exitValue(), "the Node client " + script + " failed:\n" + output);
      String last = output.substring(output.lastIndexOf('\n') + 1);
      assertTrue(last.startsWith("{"), "no JSON line from the Node client " + script + ":\n" + output);
      return new JsonObject(last);
    } finally {
      node.destroyForcibly();
      Files.deleteIfExists(log);
    }
  }
}
