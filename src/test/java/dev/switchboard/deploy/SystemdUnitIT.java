package dev.switchboard.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * {@code deploy/switchboard.service}: what its sandbox must hold, and {@code systemd-analyze verify}
 * (Debian package {@code systemd}; scripts/test.sh installs it). verify loads the unit offline, with no
 * systemd as PID 1; it exits 0 even for an unknown key or a value it cannot parse (it only warns,
 * {@code <file>:<line>: ...}), so the test reads its output for such lines instead of trusting the exit code.
 */
@DisplayName("The systemd unit")
class SystemdUnitIT {

  static final Path UNIT = Path.of("deploy", "switchboard.service");
  private static final String ANALYZE = Files.isExecutable(Path.of("/usr/bin/systemd-analyze")) ? "/usr/bin/systemd-analyze" : "systemd-analyze";
  /** A warning about the file itself: "path/switchboard.service:12: Unknown key ..." or "... Failed to parse ...". */
  private static final Pattern UNIT_FILE_PROBLEM = Pattern.compile(
      "(?m)^.*(switchboard\\.service:\\d+:.*|Unknown (key|section|lvalue).*|Failed to parse.*|Invalid .*|is not executable.*)$");

  @Test
  @DisplayName("systemd-analyze verify finds no error in the unit file")
  void verifies() throws Exception {
    Result result = verify(Files.readString(UNIT));
    assertEquals(List.of(), problems(result.output()), result.output());
    assertEquals(0, result.exit(), "systemd-analyze verify exited " + result.exit() + ":\n" + result.output());
  }

  @Test
  @DisplayName("an error in a unit file is caught, although systemd-analyze verify exits 0 for it")
  void catchesErrors() throws Exception {
    String broken = Files.readString(UNIT).replaceFirst("(?m)^ProtectSystem=strict$", "ProtectSystem=sideways\nNoSuchKey=1");
    Result result = verify(broken);
    List<String> problems = problems(result.output());
    assertEquals(2, problems.size(), result.output());
  }

  @Test
  @DisplayName("systemd-analyze security rates the sandbox's exposure at most 2.0 (of 10: 'OK')")
  void exposure() throws Exception {
    // --threshold is in tenths of the exposure it prints; today's unit is at 1.5
    Result result = analyze(Files.readString(UNIT), "security", "--offline=yes", "--threshold=20");
    assertEquals(0, result.exit(), "exposure above 2.0:\n" + result.output());
    assertTrue(result.output().contains("Overall exposure level"), result.output());
  }

  @Test
  @DisplayName("the sandbox: a user of its own, read-only system, no capabilities, the state folder writable, SIGHUP reload, restart on failure")
  void hardened() throws Exception {
    Map<String, String> required = Map.ofEntries(
        Map.entry("User", "switchboard"),
        Map.entry("StateDirectory", "switchboard"),
        Map.entry("ProtectSystem", "strict"),
        Map.entry("ProtectHome", "true"),
        Map.entry("PrivateTmp", "true"),
        Map.entry("PrivateDevices", "true"),
        Map.entry("NoNewPrivileges", "true"),
        Map.entry("CapabilityBoundingSet", ""),
        Map.entry("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
        Map.entry("SystemCallFilter", "@system-service"),
        Map.entry("Restart", "on-failure"),
        Map.entry("ExecReload", "/bin/kill -HUP $MAINPID"),
        Map.entry("LimitNOFILE", "65536"));
    String unit = Files.readString(UNIT);
    for (Map.Entry<String, String> e : required.entrySet()) {
      Matcher m = Pattern.compile("(?m)^" + e.getKey() + "=(.*)$").matcher(unit);
      assertTrue(m.find(), "no " + e.getKey() + "= in " + UNIT);
      assertEquals(e.getValue(), m.group(1).trim(), e.getKey());
    }
    // the JIT writes the code it runs: W^X memory would stop the JVM's compilers
    assertFalse(Pattern.compile("(?m)^MemoryDenyWriteExecute=").matcher(unit).find(), "MemoryDenyWriteExecute breaks the JVM");
  }

  private record Result(int exit, String output) {
  }

  private static List<String> problems(String output) {
    return UNIT_FILE_PROBLEM.matcher(output).results().map(r -> r.group().trim()).toList();
  }

  /**
   * verify on a copy under target/, its java the one running this test (the machine's JDK need
   * not be /usr/bin/java, and verify checks that ExecStart's binary exists).
   */
  private static Result verify(String unitText) throws IOException, InterruptedException {
    return analyze(unitText, "verify", "--man=no");
  }

  /** {@code systemd-analyze <args...> <a copy of unitText>}: exit code and output. */
  private static Result analyze(String unitText, String... args) throws IOException, InterruptedException {
    requireAnalyze();
    String java = ProcessHandle.current().info().command().orElse("/usr/bin/java");
    Path dir = Files.createTempDirectory(Files.createDirectories(Path.of("target", "systemd-it")), "unit");
    Path copy = dir.resolve("switchboard.service");
    Files.writeString(copy, unitText.replace("ExecStart=/usr/bin/java ", "ExecStart=" + java + " "));
    List<String> command = new java.util.ArrayList<>(List.of(ANALYZE));
    command.addAll(List.of(args));
    command.add(copy.toAbsolutePath().toString());
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException("systemd-analyze " + String.join(" ", args) + " did not exit within 60 s");
    }
    return new Result(p.exitValue(), output);
  }

  /** Missing: a failure under CI=true (scripts/test.sh installs it), skipped elsewhere ("where available"). */
  private static void requireAnalyze() {
    boolean present;
    try {
      Process p = new ProcessBuilder(ANALYZE, "--version").redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      present = p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException | InterruptedException e) {
      present = false;
    }
    if (!present && "true".equalsIgnoreCase(System.getenv("CI"))) {
      throw new AssertionError("systemd-analyze is not installed (Debian package 'systemd'; scripts/test.sh installs it)");
    }
    Assumptions.assumeTrue(present, "systemd-analyze is not installed");
  }
}
