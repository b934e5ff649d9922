package dev.switchboard.audit;

import io.vertx.core.json.JsonObject;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Events waiting for the audit store, in arrival order, in {@code data/audit-spool.jsonl}: written
 * (and forced to disk) when the store cannot take them, taken from the front once it can again.
 * They are not chained yet: their place in the chain is given when the store takes them. Blocking:
 * called on the audit worker only, one call at a time.
 */
final class AuditSpool {

  static final String FILE = "audit-spool.jsonl";

  private final Path file;
  private long size = -1;

  AuditSpool(Path dataDir) {
    this.file = dataDir.resolve(FILE);
  }

  /** Events waiting; counted from the file once (a spool left by a previous run is drained too). */
  long size() throws IOException {
    if (size < 0) {
      size = Files.exists(file) ? read(Integer.MAX_VALUE).size() : 0;
    }
    return size;
  }

  void append(List<AuditEvent> events) throws IOException {
    size();
    StringBuilder lines = new StringBuilder();
    events.forEach(e -> lines.append(toJson(e).encode()).append('\n'));
    Files.createDirectories(file.getParent());
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      long end = channel.size();
      if (end > 0 && lastByte(channel, end) != '\n') {
        // a line torn by a crash: ended here, or the first event below would be glued to it and lost with it
        lines.insert(0, '\n');
      }
      try {
        ByteBuffer bytes = ByteBuffer.wrap(lines.toString().getBytes(StandardCharsets.UTF_8));
        channel.position(end);
        while (bytes.hasRemaining()) {
          channel.write(bytes);
        }
        channel.force(false);
      } catch (IOException e) {
        channel.truncate(end);
        throw e;
      }
    }
    size += events.size();
  }

  private static byte lastByte(FileChannel channel, long size) throws IOException {
    ByteBuffer one = ByteBuffer.allocate(1);
    channel.read(one, size - 1);
    return one.get(0);
  }

  /** The first {@code max} events. A line cut short by a crash (never acknowledged) is not one. */
  List<AuditEvent> read(int max) throws IOException {
    List<AuditEvent> events = new ArrayList<>();
    if (!Files.exists(file)) {
      return events;
    }
    try (BufferedReader reader = new BufferedReader(new InputStreamReader(Files.newInputStream(file), StandardCharsets.UTF_8))) {
      String line;
      while (events.size() < max && (line = reader.readLine()) != null) {
        try {
          events.add(fromJson(new JsonObject(line)));
        } catch (RuntimeException torn) {
          // a line torn by a crash (appends are whole lines, forced before they count; the next append ends it)
        }
      }
    }
    return events;
  }

  /** Takes the first {@code count} events off, keeping the rest (replaced in one atomic move). */
  void removeFirst(int count) throws IOException {
    List<AuditEvent> rest = read(Integer.MAX_VALUE);
    rest = rest.subList(Math.min(count, rest.size()), rest.size());
    if (rest.isEmpty()) {
      Files.deleteIfExists(file);
      size = 0;
      return;
    }
    Path next = file.resolveSibling(FILE + ".next");
    StringBuilder lines = new StringBuilder();
    rest.forEach(e -> lines.append(toJson(e).encode()).append('\n'));
    try (FileChannel channel = FileChannel.open(next, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      ByteBuffer bytes = ByteBuffer.wrap(lines.toString().getBytes(StandardCharsets.UTF_8));
      while (bytes.hasRemaining()) {
        channel.write(bytes);
      }
      channel.force(false);
    }
    Files.move(next, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    size = rest.size();
  }

  static JsonObject toJson(AuditEvent e) {
    return new JsonObject().put("id", e.id()).put("time", e.time()).put("subject", e.subject()).put("action", e.action())
        .put("target", e.target()).put("outcome", e.outcome()).put("request_id", e.requestId())
        .put("sizes", new JsonObject(new TreeMap<String, Object>(e.sizes())))
        .put("details", new JsonObject(new TreeMap<String, Object>(e.details())));
  }

  static AuditEvent fromJson(JsonObject j) {
    Map<String, Long> sizes = new TreeMap<>();
    j.getJsonObject("sizes").forEach(x -> sizes.put(x.getKey(), ((Number) x.getValue()).longValue()));
    Map<String, String> details = new TreeMap<>();
    j.getJsonObject("details").forEach(x -> details.put(x.getKey(), (String) x.getValue()));
    return new AuditEvent(j.getString("id"), j.getLong("time"), j.getString("subject"), j.getString("action"),
        j.getString("target"), j.getString("outcome"), j.getString("request_id"), sizes, details);
  }
}
