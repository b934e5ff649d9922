package dev.switchboard.store;

import dev.switchboard.observe.Metrics;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.function.Supplier;

/**
 * One gateway per data folder. Two processes on one folder would both say they are ready and then
 * fight over SQLite's and Lucene's locks for ever, so the first verticle to start takes an
 * exclusive lock on {@code data/.lock} (kept until it stops, released by the OS if the process
 * dies) and a second one refuses to start, naming the folder and the PID that holds it.
 *
 * <p>It is the gateway's root: the other components are deployed from its start, as its
 * children, so that Vert.x stops them all before it and the lock outlives every write to the
 * folder (top-level deployments stop in parallel; children stop before their parent).
 *
 * <p>While it holds the folder it also reports the space left on it
 * ({@code switchboard_data_dir_free_bytes}), read on a worker thread every
 * {@link #SPACE_REFRESH_MS} ms: a scrape runs on the event loop, and a file system call may stall.
 */
public final class DataDirLock extends VerticleBase {

  public static final String FILE = ".lock";

  /** The folder is held by another gateway. */
  public static final class InUse extends RuntimeException {
    InUse(String message) {
      super(message, null, false, false);
    }
  }

  /** Prometheus scrapes every 15 s (conf/prometheus.yml): a fresher value would not be seen. */
  static final long SPACE_REFRESH_MS = 15_000;

  private final Path dataDir;
  private final Supplier<Future<?>> children;
  private FileChannel channel;
  private FileLock lock;
  private volatile double freeBytes = Double.NaN;
  private volatile double totalBytes = Double.NaN;
  private long spaceTimer = -1;
  /** A read that has not come back yet (a stalled mount): the next ticks skip rather than take more workers. */
  private final java.util.concurrent.atomic.AtomicBoolean reading = new java.util.concurrent.atomic.AtomicBoolean();

  public DataDirLock(Path dataDir) {
    this(dataDir, Future::succeededFuture);
  }

  /** {@code children}: deploys what runs under the lock; called on this verticle's context once it is held. */
  public DataDirLock(Path dataDir, Supplier<Future<?>> children) {
    this.dataDir = dataDir;
    this.children = children;
  }

  @Override
  public Future<?> start() {
    return vertx.executeBlocking(() -> {
      acquire();
      readSpace();
      return null;
    }).onSuccess(v -> watchSpace()).compose(v -> children.get().recover(e -> vertx.executeBlocking(() -> {
      // a start that fails is not stopped: let go of the folder here
      release();
      return null;
    }).transform(ignored -> Future.failedFuture(e))));
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(spaceTimer);
    return vertx.executeBlocking(() -> {
      release();
      return null;
    });
  }

  private void acquire() throws IOException {
    Files.createDirectories(dataDir);
    Path file = dataDir.resolve(FILE);
    FileChannel c = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    FileLock held;
    try {
      held = c.tryLock();
    } catch (OverlappingFileLockException sameProcess) {
      held = null;
    }
    if (held == null) {
      String holder = holder(c);
      c.close();
      throw new InUse("the data folder " + dataDir.toAbsolutePath().normalize() + " is in use by another switchboard"
          + (holder.isEmpty() ? "" : " (PID " + holder + ")")
          + ": stop it, or give this one its own folder (SWITCHBOARD_DATA_DIR)");
    }
    byte[] pid = (ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII);
    c.truncate(0);
    c.write(ByteBuffer.wrap(pid), 0);
    c.force(false);
    channel = c;
    lock = held;
  }

  /**
   * Blocking: who holds {@code dataDir}'s lock now: empty when no gateway does (or there is no lock
   * file yet), else the holder's PID ("?" when it cannot be read). Takes the lock for a moment when
   * it is free, which a gateway starting at that very moment would see as in use.
   */
  public static java.util.Optional<String> heldBy(Path dataDir) throws IOException {
    Path file = dataDir.resolve(FILE);
    if (!Files.exists(file)) {
      return java.util.Optional.empty();
    }
    try (FileChannel c = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      FileLock held;
      try {
        held = c.tryLock();
      } catch (OverlappingFileLockException sameProcess) {
        held = null;
      }
      if (held != null) {
        held.release();
        return java.util.Optional.empty();
      }
      String pid = holder(c);
      return java.util.Optional.of(pid.isEmpty() ? "?" : pid);
    }
  }

  private void watchSpace() {
    Metrics metrics = Metrics.current();
    metrics.gauge("switchboard.data.dir.free.bytes", "Space left for the gateway on the data folder's file system",
        this, l -> l.freeBytes);
    metrics.gauge("switchboard.data.dir.size.bytes", "Size of the data folder's file system", this, l -> l.totalBytes);
    spaceTimer = vertx.setPeriodic(SPACE_REFRESH_MS, id -> {
      if (reading.compareAndSet(false, true)) {
        // unordered: a stalled read must not hold up stop()'s release of the lock
        vertx.executeBlocking(() -> {
          readSpace();
          return null;
        }, false).onComplete(done -> reading.set(false));
      }
    });
  }

  /** Unreadable (the folder went away, a mount stalled and failed): NaN rather than the last value. */
  private void readSpace() {
    try {
      FileStore store = Files.getFileStore(dataDir);
      freeBytes = store.getUsableSpace();
      totalBytes = store.getTotalSpace();
    } catch (IOException e) {
      freeBytes = Double.NaN;
      totalBytes = Double.NaN;
    }
  }

  private static String holder(FileChannel c) {
    try {
      ByteBuffer buf = ByteBuffer.allocate(32);
      c.read(buf, 0);
      return new String(buf.array(), 0, buf.position(), StandardCharsets.US_ASCII).trim();
    } catch (IOException unreadable) {
      return "";
    }
  }

  private void release() throws IOException {
    if (lock != null) {
      lock.release();
      lock = null;
    }
    if (channel != null) {
      channel.close();
      channel = null;
    }
  }
}
