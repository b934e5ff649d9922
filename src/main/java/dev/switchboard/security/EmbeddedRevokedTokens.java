package dev.switchboard.security;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;

/**
 * The embedded profile's revoked tokens: {@code data/revoked-tokens.json}, {@code {"<jti>": until
 * epoch ms or null for good}}, read at start (expired entries dropped) and rewritten whole on each
 * revocation: revocations are rare and few, and a file that is replaced, never edited, is never
 * half written. File I/O runs on one worker thread of its own, one call at a time, in order.
 */
final class EmbeddedRevokedTokens implements RevokedTokens {

  static final String FILE = "revoked-tokens.json";

  private final WorkerExecutor worker;
  private final Path file;
  /** The worker thread's only. */
  private final Map<String, Long> entries;

  private EmbeddedRevokedTokens(WorkerExecutor worker, Path file, Map<String, Long> entries) {
    this.worker = worker;
    this.file = file;
    this.entries = entries;
  }

  static Future<EmbeddedRevokedTokens> open(Vertx vertx, Path dataDir) {
    Path file = dataDir.resolve(FILE);
    WorkerExecutor worker = vertx.createSharedWorkerExecutor("switchboard-revocations", 1);
    return worker.executeBlocking(() -> new EmbeddedRevokedTokens(worker, file, load(file)), true)
        .onFailure(e -> worker.close());
  }

  private static Map<String, Long> load(Path file) throws IOException {
    Map<String, Long> out = new HashMap<>();
    if (!Files.exists(file)) {
      return out;
    }
    JsonObject stored;
    try {
      stored = new JsonObject(Files.readString(file, StandardCharsets.UTF_8));
    } catch (RuntimeException e) {
      // refusing to start is better than forgetting revocations: the operator decides
      throw new IOException(file + " is not the JSON object of revoked tokens the gateway writes (" + e.getMessage()
          + "): fix it, or delete it to forget every revocation");
    }
    long now = System.currentTimeMillis();
    stored.forEach(e -> {
      long until = e.getValue() instanceof Number n ? n.longValue() : Revocations.FOREVER;
      if (until > now) {
        out.put(e.getKey(), until);
      }
    });
    return out;
  }

  @Override
  public Future<Void> revoke(String jti, long untilMillis) {
    return worker.executeBlocking(() -> {
      Long before = entries.get(jti);
      if (before != null && before >= untilMillis) {
        return null;
      }
      long now = System.currentTimeMillis();
      Map<String, Long> next = new HashMap<>(entries);
      next.values().removeIf(u -> u <= now);
      if (untilMillis > now) {
        next.put(jti, untilMillis);
      }
      write(next);
      entries.clear();
      entries.putAll(next);
      return null;
    }, true);
  }

  /** Written to a temporary file, forced to disk, then moved over the old one. */
  private void write(Map<String, Long> next) throws IOException {
    JsonObject json = new JsonObject();
    next.forEach((jti, until) -> json.put(jti, until == Revocations.FOREVER ? null : until));
    Files.createDirectories(file.getParent());
    Path tmp = file.resolveSibling(FILE + ".tmp");
    Files.writeString(tmp, json.encode(), StandardCharsets.UTF_8);
    try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
      channel.force(true);
    }
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  @Override
  public Future<Map<String, Long>> current() {
    return worker.executeBlocking(() -> {
      long now = System.currentTimeMillis();
      Map<String, Long> out = new HashMap<>();
      entries.forEach((jti, until) -> {
        if (until > now) {
          out.put(jti, until);
        }
      });
      return out;
    }, true);
  }

  @Override
  public Future<Void> close() {
    return worker.close();
  }
}
