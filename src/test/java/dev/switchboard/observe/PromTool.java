package dev.switchboard.observe;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Prometheus' own checker, {@code promtool} (Debian package {@code prometheus}, installed by
 * {@code scripts/test.sh}). Missing, it fails the test that needs it rather than skipping it.
 */
final class PromTool {

  record Result(int exit, String output) {
  }

  private PromTool() {
  }

  /** Runs {@code promtool args...} with {@code stdin} (or nothing) as its input; output is stdout and stderr. */
  static Result run(String stdin, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add("promtool");
    command.addAll(List.of(args));
    Process p;
    try {
      p = new ProcessBuilder(command).redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new IOException("promtool is not installed (Debian package 'prometheus'; scripts/test.sh installs it): "
          + e.getMessage(), e);
    }
    try (var in = p.getOutputStream()) {
      if (stdin != null) {
        in.write(stdin.getBytes(StandardCharsets.UTF_8));
      }
    }
    // read before waiting: a full pipe would otherwise stop the tool from exiting
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException("promtool " + String.join(" ", args) + " did not exit within 60 s");
    }
    return new Result(p.exitValue(), output);
  }
}
