package dev.switchboard.plugin;

import dev.switchboard.config.ConfigFiles;
import dev.switchboard.config.ConfigNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * {@code plugins/catalog.yaml}, next to the jars it vouches for: {@code plugins: [ { id, version,
 * sha256 } ]}. A jar loads only when its id is listed with its version and the SHA-256 of its bytes.
 * A catalog that is there but malformed stops start-up like any other bad setting; a missing one
 * vouches for nothing.
 */
record Catalog(Path file, Map<String, Entry> entries) {

  static final String FILE = "catalog.yaml";
  private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

  record Entry(String version, String sha256) {
  }

  static Catalog read(Path folder) {
    Path file = folder.resolve(FILE);
    Map<String, Entry> entries = new LinkedHashMap<>();
    if (!Files.exists(file)) {
      return new Catalog(file, Map.of());
    }
    ConfigNode root = new ConfigFiles(folder, name -> null).load(FILE, true);
    root.allowOnly("plugins");
    for (ConfigNode node : root.get("plugins").list()) {
      node.allowOnly("id", "version", "sha256");
      String id = node.get("id").requiredString();
      String version = node.get("version").requiredString();
      String sha = node.get("sha256").requiredString().toLowerCase(Locale.ROOT);
      if (!SHA256.matcher(sha).matches()) {
        throw node.get("sha256").error("must be 64 hex digits (sha256sum of the jar), got '" + sha + "'");
      }
      if (entries.put(id, new Entry(version, sha)) != null) {
        throw node.get("id").error("plug-in '" + id + "' is listed twice");
      }
    }
    return new Catalog(file, Map.copyOf(entries));
  }

  /** Why this catalog does not vouch for the jar, or empty when it does. */
  Optional<String> refusal(PluginManifest manifest, String sha256) {
    Entry entry = entries.get(manifest.id());
    if (entry == null) {
      return Optional.of("not in " + file + (Files.exists(file) ? "" : " (no such file)") + ": expected an entry { id: \""
          + manifest.id() + "\", version: \"" + manifest.version() + "\", sha256: \"" + sha256 + "\" }");
    }
    if (!entry.version().equals(manifest.version())) {
      return Optional.of("version mismatch: " + file + " expects " + entry.version() + ", the jar is " + manifest.version());
    }
    if (!entry.sha256().equals(sha256)) {
      return Optional.of("SHA-256 mismatch: " + file + " expects " + entry.sha256() + ", the jar is " + sha256);
    }
    return Optional.empty();
  }
}
