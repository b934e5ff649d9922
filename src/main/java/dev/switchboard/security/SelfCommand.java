package dev.switchboard.security;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * How to run this very gateway from a shell: {@code java -jar <the jar that is running>}, so
 * that hints such as "mint a token with ..." can be pasted as they are. The path is relative to
 * the working directory when the jar is under it, absolute otherwise.
 *
 * <p>Run from classes (tests, an IDE) there is no jar; the hint names the one {@code mvn package}
 * builds next to them ({@code target/switchboard.jar}), the way the README runs it.
 *
 * <p>A gateway started with {@code SWITCHBOARD_CONF_DIR} or {@code SWITCHBOARD_DATA_DIR} (a
 * systemd unit, a container) reads another configuration and secret than a bare {@code java -jar}
 * would: {@link #java(Function, Path)} puts those variables in front, so that the command run
 * from a shell finds what the gateway uses.
 */
public final class SelfCommand {

  static final String JAR = "switchboard.jar";
  static final String CONF_DIR = "SWITCHBOARD_CONF_DIR";
  static final String DATA_DIR = "SWITCHBOARD_DATA_DIR";
  /** The data folder when nothing says otherwise (Settings' default). */
  static final Path DEFAULT_DATA_DIR = Path.of("data");
  private static final Pattern SHELL_SAFE = Pattern.compile("[A-Za-z0-9_./:@%+=,-]+");
  private static volatile String java;

  private SelfCommand() {
  }

  /** {@code java -jar <path>} for the running code; computed once. */
  public static String java() {
    String command = java;
    if (command == null) {
      command = forLocation(codeLocation(), Path.of("").toAbsolutePath());
      java = command;
    }
    return command;
  }

  /**
   * {@link #java()} preceded by the variables that make it use the same configuration and data
   * as a gateway running with {@code env}: {@code SWITCHBOARD_CONF_DIR} and
   * {@code SWITCHBOARD_DATA_DIR} as that environment has them, and the data folder
   * {@code dataDir} (null: not known) when it is not the default {@code ./data} and no variable
   * names it, e.g. {@code SWITCHBOARD_DATA_DIR=/var/lib/switchboard java -jar /opt/switchboard/switchboard.jar}.
   */
  public static String java(Function<String, String> env, Path dataDir) {
    return assignments(env, dataDir, Path.of("").toAbsolutePath()) + java();
  }

  /** The {@code NAME=value } assignments of {@link #java(Function, Path)}, seen from {@code workDir}. */
  static String assignments(Function<String, String> env, Path dataDir, Path workDir) {
    StringBuilder line = new StringBuilder();
    String conf = env.apply(CONF_DIR);
    if (conf != null && !conf.isBlank()) {
      line.append(CONF_DIR).append('=').append(quoted(conf)).append(' ');
    }
    String data = env.apply(DATA_DIR);
    if (data != null && !data.isBlank()) {
      line.append(DATA_DIR).append('=').append(quoted(data)).append(' ');
    } else if (dataDir != null && !sameFile(dataDir, DEFAULT_DATA_DIR, workDir)) {
      line.append(DATA_DIR).append('=').append(quoted(display(workDir.resolve(dataDir), workDir))).append(' ');
    }
    return line.toString();
  }

  private static boolean sameFile(Path a, Path b, Path workDir) {
    return workDir.resolve(a).toAbsolutePath().normalize().equals(workDir.resolve(b).toAbsolutePath().normalize());
  }

  /** The command for code loaded from {@code location} (a jar or a classes directory), seen from {@code workDir}. */
  static String forLocation(Path location, Path workDir) {
    if (location == null) {
      return "java -jar " + JAR;
    }
    Path jar = location;
    if (Files.isDirectory(location)) {
      Path outputDir = location.toAbsolutePath().getParent();
      jar = outputDir == null ? Path.of(JAR) : outputDir.resolve(JAR);
    }
    return "java -jar " + quoted(display(jar, workDir));
  }

  private static String display(Path file, Path workDir) {
    Path absolute = file.toAbsolutePath().normalize();
    Path base = workDir.toAbsolutePath().normalize();
    return absolute.startsWith(base) && !absolute.equals(base) ? base.relativize(absolute).toString() : absolute.toString();
  }

  /** {@code value} as one shell word: as it is when nothing in it is special, else in single quotes. */
  static String quoted(String path) {
    return SHELL_SAFE.matcher(path).matches() ? path : "'" + path.replace("'", "'\\''") + "'";
  }

  private static Path codeLocation() {
    try {
      CodeSource source = SelfCommand.class.getProtectionDomain().getCodeSource();
      return source == null || source.getLocation() == null ? null : Path.of(source.getLocation().toURI());
    } catch (URISyntaxException | RuntimeException e) {
      return null;
    }
  }
}
