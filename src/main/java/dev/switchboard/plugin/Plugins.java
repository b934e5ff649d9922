package dev.switchboard.plugin;

import dev.switchboard.Version;
import dev.switchboard.agent.Skill;
import dev.switchboard.channel.BuiltInChannels;
import dev.switchboard.channel.ChannelProvider;
import dev.switchboard.channel.ChannelSettings;
import dev.switchboard.model.ProviderRegistry;
import dev.switchboard.model.spi.ModelProvider;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.logging.Logger;
import java.util.stream.Stream;

/**
 * The plug-in jars of one start: found in {@code plugins/} of the conf folder, then of the data
 * folder; each copied to a private folder while it is hashed, the copy checked (manifest,
 * {@code catalog.yaml} next to it, required version) before a class loader opens it, then given its
 * own {@link URLClassLoader} on that copy (parent: Switchboard's) in which only the
 * service interface of its declared type is looked up. Everything here is file I/O and runs once at
 * start-up, before the event loops; the settings that name plug-in provider and channel types are
 * parsed after it.
 */
public final class Plugins {

  private static final Logger LOG = Logger.getLogger(Plugins.class.getName());
  static final String FOLDER = "plugins";

  /** enabled: in use; disabled: checked and loaded but not used (the operator's choice); refused: not loaded. */
  public enum State {
    ENABLED("enabled"), DISABLED("disabled"), REFUSED("refused");

    private final String label;

    State(String label) {
      this.label = label;
    }

    public String label() {
      return label;
    }
  }

  /**
   * One jar as found. {@code id}, {@code version} and {@code type} are null when its manifest could
   * not say; {@code services} are the instances its loader made (none when refused).
   */
  public record Plugin(String id, String version, PluginManifest.Type type, Path file, String sha256, State state,
                       String reason, List<String> provides, List<Object> services) {

    public JsonObject toJson() {
      return new JsonObject().put("id", id).put("version", version).put("type", type == null ? null : type.label())
          .put("file", file.toString()).put("sha256", sha256).put("state", state.label()).put("reason", reason)
          .put("provides", new JsonArray(List.copyOf(provides)));
    }
  }

  private final List<Plugin> all;
  private final Set<String> disabledChoices;

  private Plugins(List<Plugin> all, Set<String> disabledChoices) {
    this.all = List.copyOf(all);
    this.disabledChoices = Set.copyOf(disabledChoices);
  }

  public static Plugins none() {
    return new Plugins(List.of(), Set.of());
  }

  public List<Plugin> all() {
    return all;
  }

  /**
   * The ids disabled in {@code data/plugins.json} as this start read it, those of plug-ins that are
   * not here this time (refused, their jar out) included: a later save keeps their choice.
   */
  Set<String> disabledChoices() {
    return disabledChoices;
  }

  /** The provider types of the enabled model-provider plug-ins: known to {@code model_provider.yaml}. */
  public List<ModelProvider> modelProviders() {
    return enabled(PluginManifest.Type.MODEL_PROVIDER, ModelProvider.class);
  }

  /** The channels of the enabled channel plug-ins: sections of {@code channels.yaml}. */
  public List<ChannelProvider> channelProviders() {
    return enabled(PluginManifest.Type.CHANNEL, ChannelProvider.class);
  }

  /** The provider types of disabled plug-ins, with why a provider of that type is off. */
  public Map<String, String> offProviderTypes() {
    Map<String, String> off = new java.util.LinkedHashMap<>();
    disabled(PluginManifest.Type.MODEL_PROVIDER).forEach(p -> p.services().forEach(s -> off.put(((ModelProvider) s).type(), why(p))));
    return off;
  }

  /** The {@code channels.yaml} sections of disabled plug-ins, with why they are not read. */
  public Map<String, String> offChannelSections() {
    Map<String, String> off = new java.util.LinkedHashMap<>();
    disabled(PluginManifest.Type.CHANNEL).forEach(p -> p.services().forEach(s -> off.put(((ChannelProvider) s).section(), why(p))));
    return off;
  }

  private Stream<Plugin> disabled(PluginManifest.Type type) {
    return all.stream().filter(p -> p.type() == type && p.state() == State.DISABLED);
  }

  private static String why(Plugin p) {
    return "plug-in " + p.id() + " is disabled (POST /api/v1/plugins/" + p.id() + "/enable, then restart)";
  }

  private <T> List<T> enabled(PluginManifest.Type type, Class<T> spi) {
    return all.stream().filter(p -> p.type() == type && p.state() == State.ENABLED)
        .flatMap(p -> p.services().stream()).map(spi::cast).toList();
  }

  /** The two folders, conf first: {@code <conf>/plugins} and {@code <data>/plugins} (once when they are the same). */
  static List<Path> folders(Path confDir, Path dataDir) {
    Set<Path> folders = new LinkedHashSet<>();
    folders.add(confDir.resolve(FOLDER).toAbsolutePath().normalize());
    folders.add(dataDir.resolve(FOLDER).toAbsolutePath().normalize());
    return List.copyOf(folders);
  }

  public static Plugins load(PluginSettings settings, Path confDir, Path dataDir) {
    if (!settings.verify()) {
      LOG.warning("plugins.verify is false (switchboard.yaml): plug-in jars load without being checked against plugins/catalog.yaml");
    }
    Set<String> disabled = PluginChoices.disabled(dataDir);
    List<Plugin> found = new ArrayList<>();
    Map<String, String> ids = new HashMap<>();
    // what the loaded plug-ins already provide, so a second one cannot take a name (a type, a channel, a section)
    Map<String, String> taken = new HashMap<>();
    for (Path folder : folders(confDir, dataDir)) {
      if (!Files.isDirectory(folder)) {
        continue;
      }
      Catalog catalog = settings.verify() ? Catalog.read(folder) : null;
      for (Path jar : jars(folder)) {
        Plugin plugin = load(jar, catalog, disabled, ids, taken);
        if (plugin.state() == State.REFUSED) {
          LOG.warning("plug-in jar " + jar + " refused" + (plugin.id() == null ? "" : " (id " + plugin.id() + ")") + ": "
              + plugin.reason());
        } else {
          ids.put(plugin.id(), jar.toString());
          LOG.info("plug-in " + plugin.id() + " " + plugin.version() + " (" + plugin.type().label() + ") from " + jar
              + ": provides " + String.join(", ", plugin.provides()) + (plugin.state() == State.DISABLED ? " (disabled)" : ""));
        }
        found.add(plugin);
      }
    }
    return new Plugins(found, disabled);
  }

  private static List<Path> jars(Path folder) {
    try (Stream<Path> files = Files.list(folder)) {
      return files.filter(f -> f.getFileName().toString().endsWith(".jar") && Files.isRegularFile(f)).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + folder, e);
    }
  }

  private static Plugin load(Path jar, Catalog catalog, Set<String> disabled, Map<String, String> ids, Map<String, String> taken) {
    // everything after the hash reads the private copy made while hashing: a jar replaced or
    // overwritten in the folder (between the check and the class loader, or later) changes nothing
    Path copy;
    String sha;
    try {
      copy = Files.createTempFile(copies(), "plugin-", ".jar");
      copy.toFile().deleteOnExit();
      sha = copyHashing(jar, copy);
    } catch (IOException e) {
      return refused(jar, null, null, "cannot read " + jar + ": " + e.getMessage());
    }
    Plugin plugin = load(jar, copy, sha, catalog, disabled, ids, taken);
    if (plugin.state() == State.REFUSED) {
      try {
        Files.deleteIfExists(copy);
      } catch (IOException ignored) {
        // removed at exit
      }
    }
    return plugin;
  }

  private static Plugin load(Path jar, Path copy, String sha, Catalog catalog, Set<String> disabled, Map<String, String> ids,
                             Map<String, String> taken) {
    PluginManifest manifest;
    try {
      manifest = PluginManifest.read(copy);
    } catch (PluginManifest.Refused e) {
      return refused(jar, sha, null, e.getMessage());
    }
    String why = catalog == null ? null : catalog.refusal(manifest, sha).orElse(null);
    if (why == null && !Version.atLeast(Version.current(), manifest.requires())) {
      why = "requires Switchboard " + manifest.requires() + ", this is " + Version.current();
    }
    if (why == null && ids.containsKey(manifest.id())) {
      why = "a plug-in with id " + manifest.id() + " is already loaded from " + ids.get(manifest.id());
    }
    if (why != null) {
      return refused(jar, sha, manifest, why);
    }
    URLClassLoader loader;
    try {
      loader = new URLClassLoader("plugin:" + manifest.id(), new URL[] {copy.toUri().toURL()}, Plugins.class.getClassLoader());
    } catch (MalformedURLException e) {
      return refused(jar, sha, manifest, "cannot open: " + e.getMessage());
    }
    List<Object> services = new ArrayList<>();
    List<String> provides = new ArrayList<>();
    try {
      for (Object service : services(manifest.type().spi(), loader)) {
        String name = name(manifest.type(), service);
        String clash = clash(manifest.type(), service, taken);
        if (clash != null) {
          close(loader);
          return refused(jar, sha, manifest, clash);
        }
        services.add(service);
        provides.add(name);
      }
    } catch (ServiceConfigurationError | LinkageError | RuntimeException e) {
      close(loader);
      return refused(jar, sha, manifest, "its " + manifest.type().spi().getName() + " services cannot be made: " + e);
    }
    if (services.isEmpty()) {
      close(loader);
      return refused(jar, sha, manifest, "declares type " + manifest.type().label() + " but lists no service in META-INF/services/"
          + manifest.type().spi().getName());
    }
    for (Object service : services) {
      claim(manifest.type(), service, manifest.id(), taken);
    }
    State state = disabled.contains(manifest.id()) ? State.DISABLED : State.ENABLED;
    return new Plugin(manifest.id(), manifest.version(), manifest.type(), jar, sha, state, null, List.copyOf(provides),
        List.copyOf(services));
  }

  /**
   * The jar's own services of that interface. The loader delegates to Switchboard's, whose class path
   * services a plain lookup would find too: only classes this loader defined count.
   */
  private static List<Object> services(Class<?> spi, URLClassLoader loader) {
    List<Object> out = new ArrayList<>();
    ServiceLoader.load(spi, loader).stream()
        .filter(p -> p.type().getClassLoader() == loader)
        .forEach(p -> out.add(p.get()));
    return out;
  }

  private static String name(PluginManifest.Type type, Object service) {
    return switch (type) {
      case MODEL_PROVIDER -> ((ModelProvider) service).type();
      case CHANNEL -> ((ChannelProvider) service).channel();
      case SKILL -> ((Skill) service).name();
    };
  }

  /** Why this service cannot be had (its name is taken), or null. Skill names are checked by the skill registry. */
  private static String clash(PluginManifest.Type type, Object service, Map<String, String> taken) {
    if (type == PluginManifest.Type.MODEL_PROVIDER) {
      String t = ((ModelProvider) service).type();
      if (ProviderRegistry.get(t) != null) {
        return "provider type '" + t + "' is built in";
      }
      return taken.containsKey("type:" + t) ? "provider type '" + t + "' is provided by plug-in " + taken.get("type:" + t) : null;
    }
    if (type == PluginManifest.Type.CHANNEL) {
      ChannelProvider c = (ChannelProvider) service;
      if (ChannelSettings.OWN_SECTIONS.contains(c.section())) {
        return "channel '" + c.channel() + "' (section " + c.section() + ") clashes with " + ChannelSettings.FILE
            + "'s own section " + c.section();
      }
      if (ChannelSettings.OWN_WEBHOOK_PATHS.contains(c.channel())) {
        return "channel '" + c.channel() + "' (section " + c.section() + ") clashes with the gateway's own /webhooks/"
            + c.channel() + "/";
      }
      for (ChannelProvider builtIn : BuiltInChannels.providers()) {
        if (builtIn.channel().equals(c.channel()) || builtIn.section().equals(c.section())) {
          return "channel '" + c.channel() + "' (section " + c.section() + ") clashes with " + builtIn.channel() + " on the class path";
        }
      }
      for (String key : List.of("channel:" + c.channel(), "section:" + c.section())) {
        if (taken.containsKey(key)) {
          return "channel '" + c.channel() + "' (section " + c.section() + ") clashes with plug-in " + taken.get(key);
        }
      }
    }
    return null;
  }

  private static void claim(PluginManifest.Type type, Object service, String id, Map<String, String> taken) {
    if (type == PluginManifest.Type.MODEL_PROVIDER) {
      taken.put("type:" + ((ModelProvider) service).type(), id);
    } else if (type == PluginManifest.Type.CHANNEL) {
      taken.put("channel:" + ((ChannelProvider) service).channel(), id);
      taken.put("section:" + ((ChannelProvider) service).section(), id);
    }
  }

  private static Plugin refused(Path jar, String sha, PluginManifest manifest, String reason) {
    return new Plugin(manifest == null ? null : manifest.id(), manifest == null ? null : manifest.version(),
        manifest == null ? null : manifest.type(), jar, sha, State.REFUSED, reason, List.of(), List.of());
  }

  private static void close(URLClassLoader loader) {
    try {
      loader.close();
    } catch (IOException ignored) {
      // refused anyway
    }
  }

  private static Path copies;

  /** This process's folder of checked copies, readable by its user only (a temp folder's default). */
  private static synchronized Path copies() throws IOException {
    if (copies == null || !Files.isDirectory(copies)) {
      copies = Files.createTempDirectory("switchboard-plugins-");
      copies.toFile().deleteOnExit();
    }
    return copies;
  }

  /** Copies {@code from} to {@code to} and answers the hex SHA-256 of the bytes copied. */
  private static String copyHashing(Path from, Path to) throws IOException {
    MessageDigest digest = sha256();
    try (InputStream in = new DigestInputStream(Files.newInputStream(from), digest)) {
      Files.copy(in, to, StandardCopyOption.REPLACE_EXISTING);
    }
    return HexFormat.of().formatHex(digest.digest());
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The hex SHA-256 of the file, as {@code sha256sum} prints it. */
  static String sha256(Path file) {
    try (InputStream in = Files.newInputStream(file)) {
      MessageDigest digest = sha256();
      byte[] buffer = new byte[64 * 1024];
      for (int n; (n = in.read(buffer)) > 0; ) {
        digest.update(buffer, 0, n);
      }
      return HexFormat.of().formatHex(digest.digest());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
  }
}
