package dev.switchboard.audit;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;

/**
 * The embedded profile's audit log: one JSON record per line in {@code data/audit.jsonl}, only
 * ever appended to, each batch forced to disk before its future completes. All file work runs on
 * one worker thread of its own, in order; the data-folder lock makes this process the only writer.
 */
public final class EmbeddedAuditLog implements AuditLog {

  public static final String FILE = "audit.jsonl";
  private static final Logger LOG = Logger.getLogger(EmbeddedAuditLog.class.getName());
  /** Ids of the last records appended: a batch appended again after its answer was lost is recognised. */
  private static final int RECENT_IDS = 10_000;
  /** How much of the file's end is read for those ids when it is opened: about RECENT_IDS records without bodies. */
  private static final int RECENT_TAIL = 4 << 20;

  private final Path file;
  private final WorkerExecutor worker;
  // worker thread only
  private boolean loaded;
  private long lastSeq;
  private String lastHash;
  private final RecentIds recent = new RecentIds(RECENT_IDS);

  public EmbeddedAuditLog(Vertx vertx, Path dataDir) {
    this.file = dataDir.resolve(FILE);
    this.worker = vertx.createSharedWorkerExecutor("switchboard-audit", 1);
  }

  public Path file() {
    return file;
  }

  @Override
  public Future<List<AuditRecord>> append(List<AuditEvent> events) {
    return worker.executeBlocking(() -> appendNow(events), true);
  }

  private List<AuditRecord> appendNow(List<AuditEvent> events) throws IOException {
    if (!loaded) {
      load();
    }
    List<AuditRecord> records = new ArrayList<>();
    AuditRecord.Lines lines = new AuditRecord.Lines(events.size() * 512);
    AuditRecord.Batch chain = new AuditRecord.Batch(lastSeq, lastHash);
    for (AuditEvent e : events) {
      if (recent.contains(e.id())) {
        continue;
      }
      records.add(chain.next(e, lines));
    }
    if (records.isEmpty()) {
      return records;
    }
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
      long end = channel.size();
      try {
        ByteBuffer bytes = lines.buffer();
        channel.position(end);
        while (bytes.hasRemaining()) {
          channel.write(bytes);
        }
        channel.force(false);
      } catch (IOException e) {
        // a half-written batch (a full disk) is taken back, so the file ends with a whole record
        loaded = false;
        channel.truncate(end);
        throw e;
      }
    }
    AuditRecord last = records.get(records.size() - 1);
    lastSeq = last.seq();
    lastHash = last.hash();
    records.forEach(r -> recent.add(r.event().id()));
    return records;
  }

  /**
   * Finds the last record to chain after. A line cut short by a crash was never acknowledged:
   * it is cut off. A last record that cannot be read stops appending (the spool keeps the events)
   * until someone looks: chaining after it would hide the damage.
   */
  private void load() throws IOException {
    Files.createDirectories(file.getParent());
    lastSeq = 0;
    lastHash = AuditRecord.GENESIS;
    recent.clear();
    if (!Files.exists(file)) {
      loaded = true;
      return;
    }
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      long size = channel.size();
      long lineEnd = size;
      if (size > 0 && byteAt(channel, size - 1) != '\n') {
        long cut = lastNewline(channel, size - 1) + 1;
        LOG.warning(file + " ended with an unfinished record (" + (size - cut) + " bytes, never acknowledged): cut off");
        channel.truncate(cut);
        channel.force(false);
        lineEnd = cut;
      }
      if (lineEnd > 0) {
        long start = lastNewline(channel, lineEnd - 2) + 1;
        ByteBuffer line = ByteBuffer.allocate((int) (lineEnd - 1 - start));
        channel.read(line, start);
        String text = new String(line.array(), StandardCharsets.UTF_8);
        AuditRecord last;
        try {
          last = AuditRecord.parse(text);
        } catch (IllegalArgumentException e) {
          throw new IOException(file + ": the last record cannot be read (" + e.getMessage()
              + "); run 'audit verify' and repair the file before records can be appended");
        }
        lastSeq = last.seq();
        lastHash = last.hash();
        rememberTail(channel, lineEnd);
      }
    }
    loaded = true;
  }

  /**
   * The ids of the records at the end of the file: after a crash between appending a spooled batch
   * and taking it off the spool, the next run is handed the same events again.
   */
  private void rememberTail(FileChannel channel, long end) throws IOException {
    long start = Math.max(0, end - RECENT_TAIL);
    ByteBuffer tail = ByteBuffer.allocate((int) (end - start));
    while (tail.hasRemaining() && channel.read(tail, start + tail.position()) > 0) {
      // read on until the tail is whole
    }
    String[] lines = new String(tail.array(), 0, tail.position(), StandardCharsets.UTF_8).split("\n");
    // unless the tail is the whole file its first line is cut
    for (int i = start == 0 ? 0 : 1; i < lines.length; i++) {
      try {
        if (new io.vertx.core.json.JsonObject(lines[i]).getValue("id") instanceof String id) {
          recent.add(id);
        }
      } catch (RuntimeException damaged) {
        // verify names it; it holds no id to recognise
      }
    }
  }

  private static byte byteAt(FileChannel channel, long position) throws IOException {
    ByteBuffer one = ByteBuffer.allocate(1);
    channel.read(one, position);
    return one.get(0);
  }

  /** The position of the last '\n' at or before {@code from}, or -1. */
  private static long lastNewline(FileChannel channel, long from) throws IOException {
    ByteBuffer chunk = ByteBuffer.allocate(8192);
    long pos = from;
    while (pos >= 0) {
      long start = Math.max(0, pos - chunk.capacity() + 1);
      chunk.clear().limit((int) (pos - start + 1));
      channel.read(chunk, start);
      for (int i = (int) (pos - start); i >= 0; i--) {
        if (chunk.get(i) == '\n') {
          return start + i;
        }
      }
      pos = start - 1;
    }
    return -1;
  }

  @Override
  public Future<Page> query(Query query) {
    return worker.executeBlocking(() -> {
      ArrayDeque<AuditRecord> newest = new ArrayDeque<>();
      forEachLine(line -> {
        AuditRecord r;
        try {
          r = AuditRecord.parse(line);
        } catch (IllegalArgumentException damaged) {
          return true; // verify names it; a listing shows what can be read
        }
        if (query.matches(r)) {
          newest.addFirst(r);
          if (newest.size() > query.limit() + 1) {
            newest.removeLast();
          }
        }
        return true;
      });
      List<AuditRecord> data = new ArrayList<>(newest);
      long next = 0;
      if (data.size() > query.limit()) {
        data = data.subList(0, query.limit());
        next = data.get(data.size() - 1).seq();
      }
      return new Page(List.copyOf(data), next);
    }, true);
  }

  @Override
  public Future<Verification> verify() {
    return worker.executeBlocking(() -> {
      Walk walk = new Walk();
      forEachLine(walk::accept);
      return walk.result();
    }, true);
  }

  private interface LineVisitor {
    boolean visit(String line);
  }

  private void forEachLine(LineVisitor visitor) throws IOException {
    // bytes that are not UTF-8 are read as U+FFFD (not refused), so the walk names the record they are in
    try (BufferedReader reader = new BufferedReader(new InputStreamReader(Files.newInputStream(file), StandardCharsets.UTF_8))) {
      String line;
      while ((line = reader.readLine()) != null) {
        if (!visitor.visit(line)) {
          return;
        }
      }
    } catch (NoSuchFileException none) {
      // no record yet
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
  }

  @Override
  public Future<Void> close() {
    return worker.close();
  }
}
