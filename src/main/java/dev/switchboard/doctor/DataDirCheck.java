package dev.switchboard.doctor;

import dev.switchboard.store.DataDirLock;
import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The data folder: there or creatable, writable by this user, room left on its disk, and whether a
 * gateway holds it now ({@link DataDirLock}). SQLite, Lucene and the audit spool all fail on a full
 * disk in ways that are hard to read afterwards, so it is said here first.
 */
final class DataDirCheck {

  static final long MIN_FREE_BYTES = 1L << 30;
  static final double MIN_FREE_SHARE = 0.05;

  private DataDirCheck() {
  }

  static Finding check(Path configured, String where) {
    Path dir = configured.toAbsolutePath().normalize();
    String subject = "data dir " + dir;
    String move = "point " + where + " at a folder this user can write";
    Path existing = dir;
    while (existing != null && !Files.exists(existing)) {
      existing = existing.getParent();
    }
    if (existing == null || !Files.isDirectory(existing)) {
      return Finding.fail(subject, "cannot be created: " + (existing == null ? "no parent exists" : existing + " is not a folder"), move);
    }
    boolean exists = existing.equals(dir);
    try {
      Files.delete(Files.createTempFile(existing, ".doctor-", ".tmp"));
    } catch (IOException e) {
      String user = System.getProperty("user.name");
      return Finding.fail(subject, (exists ? "not writable by " : "cannot be created by ") + user + " (" + Doctor.message(e) + ")",
          "give " + user + " write access to " + existing + ", or " + move);
    }
    String state = exists ? "writable" : "not there yet, will be created (" + existing + " is writable)";
    long usable;
    long total;
    try {
      FileStore store = Files.getFileStore(existing);
      usable = store.getUsableSpace();
      total = store.getTotalSpace();
    } catch (IOException e) {
      return Finding.warn(subject, state + ", free space unknown: " + Doctor.message(e), "check the disk with df " + existing);
    }
    String space = gb(usable) + " free of " + gb(total);
    if (usable < MIN_FREE_BYTES || total > 0 && usable < total * MIN_FREE_SHARE) {
      return Finding.fail(subject, state + ", only " + space, "free space on that disk (at least 1 GB and 5%), or " + move);
    }
    String lock;
    try {
      Optional<String> holder = exists ? DataDirLock.heldBy(dir) : Optional.empty();
      lock = holder.map(pid -> "in use by the switchboard with PID " + pid).orElse("not locked (no gateway runs on it)");
    } catch (IOException e) {
      lock = "lock unreadable: " + Doctor.message(e);
    }
    return Finding.ok(subject, state + ", " + space + ", " + lock);
  }

  private static String gb(long bytes) {
    return String.format(java.util.Locale.ROOT, "%.1f GB", bytes / (double) (1L << 30));
  }
}
