package dev.switchboard.rules;

import dev.switchboard.config.ConfigError;
import dev.switchboard.config.ConfigFiles;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.snakeyaml.engine.v2.api.Dump;
import org.snakeyaml.engine.v2.api.DumpSettings;
import org.snakeyaml.engine.v2.common.FlowStyle;

/**
 * {@code rules.yaml} in the configuration directory: read (the jar's copy when the folder has
 * none), stamped (modification time and size, what hot reload compares), and written by
 * {@code PUT /api/v1/rules} through a temporary file moved into place, so a reader never sees half
 * a file. Every method does file I/O: call them from a worker thread.
 */
final class RulesFile {

  static final String NAME = "rules.yaml";

  /** What the watcher compares; {@link #MISSING} when the folder has no rules file. */
  record Stamp(long modified, long size) {
    static final Stamp MISSING = new Stamp(-1, -1);
    /** Matches no file: the watch reads the file at its next look. */
    static final Stamp UNREAD = new Stamp(-2, -2);
  }

  private final ConfigFiles files;
  private final Action.Channels channels;

  RulesFile(ConfigFiles files, Action.Channels channels) {
    this.files = files;
    this.channels = channels;
  }

  Path path() {
    return files.dir().resolve(NAME);
  }

  Action.Channels channels() {
    return channels;
  }

  Stamp stamp() {
    try {
      BasicFileAttributes a = Files.readAttributes(path(), BasicFileAttributes.class);
      return new Stamp(a.lastModifiedTime().toMillis(), a.size());
    } catch (NoSuchFileException e) {
      return Stamp.MISSING;
    } catch (IOException e) {
      throw new ConfigError(path().toString(), "", "cannot read: " + e.getMessage());
    }
  }

  RuleSet load() {
    return RuleSet.parse(files.load(NAME, false), channels);
  }

  /**
   * Checks {@code body} ({"rules": [...]}) exactly as the file will be read after a restart
   * (variables substituted), then puts it in place; a bad one leaves the file as it was.
   */
  RuleSet write(JsonObject body) {
    String yaml = "# written by PUT /api/v1/rules at " + java.time.Instant.now() + "\n"
        + new Dump(DumpSettings.builder().setDefaultFlowStyle(FlowStyle.BLOCK).setWidth(200).build())
            .dumpToString(plainOf(body));
    Path dir = files.dir();
    Path temp = null;
    try {
      Files.createDirectories(dir);
      temp = Files.createTempFile(dir, ".rules-", ".yaml.tmp");
      Files.writeString(temp, yaml, StandardCharsets.UTF_8);
      RuleSet set = RuleSet.parse(files.load(temp.getFileName().toString(), true), channels);
      try {
        Files.move(temp, path(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(temp, path(), StandardCopyOption.REPLACE_EXISTING);
      }
      temp = null;
      return set;
    } catch (IOException e) {
      throw new ConfigError(path().toString(), "", "cannot write: " + e.getMessage());
    } finally {
      if (temp != null) {
        try {
          Files.deleteIfExists(temp);
        } catch (IOException ignored) {
          // a stray temporary file is harmless; the next PUT makes its own
        }
      }
    }
  }

  /** JSON as the plain maps and lists that YAML and {@code ConfigNode} read. */
  static Object plainOf(Object v) {
    if (v instanceof JsonObject o) {
      Map<String, Object> out = new LinkedHashMap<>();
      o.forEach(e -> out.put(e.getKey(), plainOf(e.getValue())));
      return out;
    }
    if (v instanceof JsonArray a) {
      List<Object> out = new ArrayList<>();
      a.forEach(item -> out.add(plainOf(item)));
      return out;
    }
    return v;
  }
}
