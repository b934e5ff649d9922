package dev.switchboard;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/**
 * The running Switchboard version, in one place: the fat jar's {@code Implementation-Version}, or
 * (from the classes folder, in tests) the {@code version.properties} that Maven writes from the pom.
 * Plug-ins name the oldest version they work with ({@code Switchboard-Requires}), compared by
 * {@link #atLeast}.
 */
public final class Version {

  private static final String CURRENT = find();

  private Version() {
  }

  public static String current() {
    return CURRENT;
  }

  private static String find() {
    String manifest = Version.class.getPackage().getImplementationVersion();
    if (manifest != null && !manifest.isBlank()) {
      return manifest;
    }
    try (InputStream in = Version.class.getResourceAsStream("version.properties")) {
      if (in != null) {
        Properties p = new Properties();
        p.load(in);
        String v = p.getProperty("version", "");
        if (!v.isBlank() && !v.startsWith("${")) {
          return v.trim();
        }
      }
    } catch (IOException ignored) {
      // fall through: unknown
    }
    return "0";
  }

  /** True when {@code version} is at least {@code required}: numbers compared part by part, a qualifier such as -SNAPSHOT ignored. */
  public static boolean atLeast(String version, String required) {
    int[] have = parts(version);
    int[] need = parts(required);
    for (int i = 0; i < Math.max(have.length, need.length); i++) {
      int h = i < have.length ? have[i] : 0;
      int n = i < need.length ? need[i] : 0;
      if (h != n) {
        return h > n;
      }
    }
    return true;
  }

  /** True when {@code required} is a version such as {@code 0.1} or {@code 1.2.3}. */
  public static boolean valid(String required) {
    return required != null && required.matches("\\d{1,6}(\\.\\d{1,6}){0,3}");
  }

  private static int[] parts(String version) {
    String numbers = version.split("[-+]", 2)[0];
    String[] split = numbers.split("\\.");
    int[] out = new int[split.length];
    for (int i = 0; i < split.length; i++) {
      try {
        out[i] = Integer.parseInt(split[i]);
      } catch (NumberFormatException e) {
        out[i] = 0;
      }
    }
    return out;
  }
}
