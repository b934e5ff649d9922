package dev.switchboard.plugin;

import dev.switchboard.agent.Skill;
import dev.switchboard.channel.ChannelProvider;
import dev.switchboard.model.spi.ModelProvider;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * What a plug-in jar says about itself in {@code META-INF/MANIFEST.MF}: {@code Switchboard-Plugin-Id},
 * {@code Switchboard-Plugin-Version}, {@code Switchboard-Plugin-Type} and {@code Switchboard-Requires}
 * (the oldest Switchboard version it works with). Read without a class loader, so that a jar can be
 * refused before any of its code could run.
 */
public record PluginManifest(String id, String version, Type type, String requires) {

  public static final String ID = "Switchboard-Plugin-Id";
  public static final String VERSION = "Switchboard-Plugin-Version";
  public static final String TYPE = "Switchboard-Plugin-Type";
  public static final String REQUIRES = "Switchboard-Requires";

  private static final String JAR_INDEX = "META-INF/INDEX.LIST";
  private static final Pattern ID_PATTERN = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

  /** The kinds of plug-in, each with the one service interface its jar is searched for. */
  public enum Type {
    MODEL_PROVIDER("model-provider", ModelProvider.class),
    CHANNEL("channel", ChannelProvider.class),
    SKILL("skill", Skill.class);

    private final String label;
    private final Class<?> spi;

    Type(String label, Class<?> spi) {
      this.label = label;
      this.spi = spi;
    }

    public String label() {
      return label;
    }

    public Class<?> spi() {
      return spi;
    }

    static Type of(String label) {
      for (Type t : values()) {
        if (t.label.equals(label)) {
          return t;
        }
      }
      return null;
    }

    static String labels() {
      return Arrays.stream(values()).map(Type::label).collect(Collectors.joining(" | "));
    }
  }

  /** Why a jar cannot be loaded; the message is the reason as the API and the log line say it. */
  static final class Refused extends Exception {
    Refused(String reason) {
      super(reason, null, false, false);
    }
  }

  /** The manifest of {@code jar}; a missing or incomplete one, or an unknown type, is refused. */
  static PluginManifest read(Path jar) throws Refused {
    Manifest manifest;
    boolean index;
    try (JarFile file = new JarFile(jar.toFile(), false)) {
      manifest = file.getManifest();
      index = file.getEntry(JAR_INDEX) != null;
    } catch (IOException e) {
      throw new Refused("not a readable jar: " + e.getMessage());
    }
    if (manifest == null) {
      throw new Refused("no META-INF/MANIFEST.MF");
    }
    Attributes main = manifest.getMainAttributes();
    // both make a URLClassLoader open other jars as this one's: code that no catalog entry vouches for
    String classPath = value(main, Attributes.Name.CLASS_PATH.toString());
    if (!classPath.isEmpty()) {
      throw new Refused("manifest Class-Path '" + classPath + "' names other jars, which the catalog does not vouch for: "
          + "a plug-in is one self-contained jar");
    }
    if (index) {
      throw new Refused("has " + JAR_INDEX + ", a jar index that can name other jars, which the catalog does not vouch for: "
          + "a plug-in is one self-contained jar");
    }
    String id = value(main, ID);
    if (!ID_PATTERN.matcher(id).matches()) {
      throw new Refused("manifest " + ID + " '" + id + "' is not 1 to 64 letters, digits, '.', '_' or '-'");
    }
    String version = value(main, VERSION);
    String typeLabel = value(main, TYPE);
    String requires = value(main, REQUIRES);
    if (version.isEmpty()) {
      throw new Refused("manifest has no " + VERSION);
    }
    Type type = Type.of(typeLabel);
    if (type == null) {
      throw new Refused("manifest " + TYPE + " '" + typeLabel + "' is not one of " + Type.labels());
    }
    if (!dev.switchboard.Version.valid(requires)) {
      throw new Refused("manifest " + REQUIRES + " '" + requires + "' is not a version such as 0.1");
    }
    return new PluginManifest(id, version, type, requires);
  }

  private static String value(Attributes attributes, String name) {
    String v = attributes.getValue(name);
    return v == null ? "" : v.trim();
  }
}
