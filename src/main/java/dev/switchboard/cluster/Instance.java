package dev.switchboard.cluster;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Locale;
import java.util.Properties;

/**
 * This process as the cluster sees it. The id is new at every start (hostname, PID and four random
 * characters: readable in logs, and two gateways in one JVM, as in tests, still differ), so a
 * restarted instance never inherits the lease or the registry entry of the one before it.
 */
public record Instance(String id, String version, Instant startedAt) {

  private static final String ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
  private static final SecureRandom RANDOM = new SecureRandom();

  /** May block: the host name can take a DNS look-up. Call it off the event loop. */
  public static Instance current() {
    return new Instance(host() + "-" + ProcessHandle.current().pid() + "-" + random4(), jarVersion(), Instant.now());
  }

  public JsonObject toJson() {
    return new JsonObject().put("id", id).put("version", version).put("started_at", startedAt.toString());
  }

  private static String random4() {
    StringBuilder s = new StringBuilder(4);
    for (int i = 0; i < 4; i++) {
      s.append(ALPHABET.charAt(RANDOM.nextInt(ALPHABET.length())));
    }
    return s.toString();
  }

  /** The short host name, reduced to what is safe in a Redis key and a log line. */
  static String host() {
    String name = System.getenv("HOSTNAME");
    if (name == null || name.isBlank()) {
      try {
        name = InetAddress.getLocalHost().getHostName();
      } catch (IOException e) {
        name = "host";
      }
    }
    int dot = name.indexOf('.');
    String shortName = (dot > 0 ? name.substring(0, dot) : name).toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9-]", "");
    if (shortName.isEmpty()) {
      return "host";
    }
    return shortName.length() > 32 ? shortName.substring(0, 32) : shortName;
  }

  /**
   * The jar's version: its manifest's {@code Implementation-Version}, else the
   * {@code pom.properties} Maven puts in every jar, else "dev" (running from classes, as in tests).
   */
  public static String jarVersion() {
    String fromManifest = Instance.class.getPackage().getImplementationVersion();
    if (fromManifest != null && !fromManifest.isBlank()) {
      return fromManifest;
    }
    try (InputStream in = Instance.class.getResourceAsStream("/META-INF/maven/dev.switchboard/switchboard/pom.properties")) {
      if (in != null) {
        Properties p = new Properties();
        p.load(in);
        String v = p.getProperty("version");
        if (v != null && !v.isBlank()) {
          return v;
        }
      }
    } catch (IOException e) {
      // no version to be had: "dev" below
    }
    return "dev";
  }
}
