package dev.switchboard.security;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import java.util.regex.Pattern;

/**
 * How to run this very gateway from a shell: {@code java -jar <the jar that is running>}, so
 * that hints such as "mint a token with ..." can be pasted as they are. The path is relative to
 * the working directory when the jar is under it, absolute otherwise.
 *
 * <p>Run from classes (tests, an IDE) there is no jar; the hint names the one {@code mvn package}
 * builds next to them ({@code target/switchboard.jar}), the way the README runs it.
 */
public final class SelfCommand {

  static final String JAR = "switchboard.jar";
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

  private static String quoted(String path) {
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
