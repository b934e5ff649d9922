package dev.switchboard.plugin;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.TreeSet;

/**
 * The operator's choices that outlive a restart: {@code plugins.json} in the data folder,
 * {@code {"disabled": [ids]}}. Blocking file I/O: read at start-up before the event loops run,
 * written from a worker.
 */
final class PluginChoices {

  static final String FILE = "plugins.json";

  private PluginChoices() {
  }

  static Set<String> disabled(Path dataDir) {
    Path file = dataDir.resolve(FILE);
    try {
      JsonArray ids = new JsonObject(Files.readString(file, StandardCharsets.UTF_8)).getJsonArray("disabled", new JsonArray());
      Set<String> out = new TreeSet<>();
      ids.forEach(id -> out.add(String.valueOf(id)));
      return out;
    } catch (NoSuchFileException e) {
      return Set.of();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    } catch (DecodeException | ClassCastException e) {
      throw new IllegalStateException(file + " is not {\"disabled\": [plug-in ids]}: " + e.getMessage(), e);
    }
  }

  /** Replaces the file whole (written next to it, then moved), so a crash leaves the old or the new choices. */
  static void save(Path dataDir, Set<String> disabled) {
    Path file = dataDir.resolve(FILE);
    Path next = dataDir.resolve(FILE + ".tmp");
    try {
      Files.createDirectories(dataDir);
      Files.writeString(next, new JsonObject().put("disabled", new JsonArray(java.util.List.copyOf(new TreeSet<>(disabled))))
          .encodePrettily(), StandardCharsets.UTF_8);
      // on disk before the move, or a power cut after it can leave an empty plugins.json (no fsync: XFS, ext4 without auto_da_alloc)
      try (FileChannel channel = FileChannel.open(next, StandardOpenOption.WRITE)) {
        channel.force(true);
      }
      Files.move(next, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }
}
