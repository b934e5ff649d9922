package dev.switchboard.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Each case starts a JVM of its own ({@link JvmDefaultsProbe}) with the flags a user might give,
 * because the flags are process-wide and the test JVM's must stay as they are.
 */
@DisplayName("JVM defaults for a plain java -jar")
class JvmDefaultsTest {

  @Test
  @DisplayName("on G1 the heap is set to shrink after a burst and to collect when idle")
  void g1GetsShrinkingRatiosAndAPeriodicCollection() throws Exception {
    Probe probe = probe("-XX:+UseG1GC");
    assertEquals("10 MANAGEMENT", probe.flags().get("MinHeapFreeRatio"), probe.output());
    assertEquals("30 MANAGEMENT", probe.flags().get("MaxHeapFreeRatio"), probe.output());
    assertEquals("15000 MANAGEMENT", probe.flags().get("G1PeriodicGCInterval"), probe.output());
  }

  @Test
  @DisplayName("flags the user set on the command line are kept")
  void userFlagsAreKept() throws Exception {
    Probe probe = probe("-XX:+UseG1GC", "-XX:MaxHeapFreeRatio=50", "-XX:G1PeriodicGCInterval=60000");
    assertEquals("50 VM_CREATION", probe.flags().get("MaxHeapFreeRatio"), probe.output());
    assertEquals("60000 VM_CREATION", probe.flags().get("G1PeriodicGCInterval"), probe.output());
    assertEquals("10 MANAGEMENT", probe.flags().get("MinHeapFreeRatio"), probe.output());
  }

  @Test
  @DisplayName("-Dswitchboard.jvm.defaults=false leaves the JVM's own defaults")
  void propertyTurnsThemOff() throws Exception {
    Probe probe = probe("-XX:+UseG1GC", "-Dswitchboard.jvm.defaults=false");
    assertEquals("40 DEFAULT", probe.flags().get("MinHeapFreeRatio"), probe.output());
    assertEquals("70 DEFAULT", probe.flags().get("MaxHeapFreeRatio"), probe.output());
    assertEquals("0 DEFAULT", probe.flags().get("G1PeriodicGCInterval"), probe.output());
  }

  @Test
  @DisplayName("a flag the JVM refuses is skipped without a warning")
  void refusedFlagIsSkippedQuietly() throws Exception {
    // MaxHeapFreeRatio=30 is below the user's MinHeapFreeRatio, so the JVM refuses it
    Probe probe = probe("-XX:+UseG1GC", "-XX:MinHeapFreeRatio=50");
    assertEquals("70 DEFAULT", probe.flags().get("MaxHeapFreeRatio"), probe.output());
    assertEquals("15000 MANAGEMENT", probe.flags().get("G1PeriodicGCInterval"), probe.output());
    assertTrue(probe.warnings().isEmpty(), probe.output());
  }

  @Test
  @DisplayName("on Serial the ratios are set and no periodic collection is asked for")
  void serialGetsOnlyTheRatios() throws Exception {
    Probe probe = probe("-XX:+UseSerialGC");
    assertEquals("30 MANAGEMENT", probe.flags().get("MaxHeapFreeRatio"), probe.output());
    assertEquals("0 DEFAULT", probe.flags().get("G1PeriodicGCInterval"), probe.output());
  }

  @Test
  @DisplayName("an idle G1 process trims its C heap after the periodic collection")
  void idleCollectionTrimsNativeHeap() throws Exception {
    // one second instead of thirty, set as a user would; the trim follows every idle collection
    Probe probe = probe("-XX:+UseG1GC", "-XX:G1PeriodicGCInterval=1000", JvmDefaultsProbe.class.getName(), "idle");
    assertTrue(probe.output().contains("outcome Outcome[") && probe.output().contains("trimsNativeHeap=true"),
        probe.output());
    assertTrue(probe.lines().stream().anyMatch(l -> l.startsWith("trimmed ")), probe.output());
  }

  @Test
  @DisplayName("the C heap is trimmed every few seconds under any collector")
  void periodicTrimUnderSerial() throws Exception {
    Probe probe = probe("-XX:+UseSerialGC", "-Dswitchboard.jvm.trim_interval=1", JvmDefaultsProbe.class.getName(),
        "periodic");
    assertTrue(probe.output().contains("trimsNativeHeap=true, trimIntervalSeconds=1"), probe.output());
    assertTrue(probe.lines().stream().anyMatch(l -> l.startsWith("trimmed periodic trim")), probe.output());
  }

  @Test
  @DisplayName("-Dswitchboard.jvm.trim_interval=0 stops the periodic trim")
  void trimIntervalZeroTurnsItOff() throws Exception {
    Probe probe = probe("-XX:+UseSerialGC", "-Dswitchboard.jvm.trim_interval=0");
    assertTrue(probe.output().contains("trimsNativeHeap=false, trimIntervalSeconds=0"), probe.output());
    assertEquals("30 MANAGEMENT", probe.flags().get("MaxHeapFreeRatio"), probe.output());
  }

  @Test
  @DisplayName("the trim interval is whole seconds: unset means every 5 s, 0 means never")
  void trimIntervalIsWholeSeconds() {
    assertEquals(5, JvmDefaults.trimInterval(null));
    assertEquals(5, JvmDefaults.trimInterval(" "));
    assertEquals(0, JvmDefaults.trimInterval("0"));
    assertEquals(60, JvmDefaults.trimInterval(" 60 "));
  }

  @Test
  @DisplayName("a trim interval that is not whole seconds up to a day keeps the default")
  void badTrimIntervalKeepsTheDefault() {
    assertEquals(5, JvmDefaults.trimInterval("10s"));
    assertEquals(5, JvmDefaults.trimInterval("-1"));
    assertEquals(5, JvmDefaults.trimInterval("86401"));
  }

  record Probe(List<String> lines) {
    String output() {
      return String.join("\n", lines);
    }

    /** flag name to "value ORIGIN" */
    Map<String, String> flags() {
      Map<String, String> flags = new TreeMap<>();
      for (String line : lines) {
        if (line.startsWith("flag ")) {
          String[] nameRest = line.substring(5).split("=", 2);
          flags.put(nameRest[0], nameRest[1]);
        }
      }
      return flags;
    }

    List<String> warnings() {
      return lines.stream().filter(l -> l.startsWith("warning ")).toList();
    }
  }

  /** Runs the probe with these JVM options; a last argument list after the class name is passed on. */
  private static Probe probe(String... options) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx64m", "-cp", System.getProperty("java.class.path")));
    boolean hasMain = false;
    for (String option : options) {
      command.add(option);
      hasMain |= option.equals(JvmDefaultsProbe.class.getName());
    }
    if (!hasMain) {
      command.add(JvmDefaultsProbe.class.getName());
    }
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    try {
      if (!p.waitFor(40, TimeUnit.SECONDS)) {
        throw new AssertionError("probe did not finish: " + command);
      }
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertEquals(0, p.exitValue(), out);
      return new Probe(out.lines().toList());
    } finally {
      p.destroyForcibly();
    }
  }
}
