package dev.switchboard.audit;

/**
 * The ids of the last {@code capacity} records appended, so that a batch handed over again (a
 * drained spool whose removal did not happen) is stored once. Held as 128-bit keys in arrays made
 * once, not as a set of strings: at a few thousand records a second, a set of the last 10,000 ids
 * was most of what every young collection had to copy (each id lived about a second, through one
 * or two collections). An event id is a UUID ({@link AuditEvent#randomId}) and is kept exactly;
 * any other id as a 128-bit hash of it (two 64-bit passes over it, one each way). Not thread-safe: the store's one worker.
 */
final class RecentIds {

  private final int capacity;
  private final long[] hi;
  private final long[] lo;
  /** Open addressing with linear probing: ring slot + 1, or 0 for an empty bucket. */
  private final int[] table;
  private final int mask;
  private int oldest;
  private int size;

  RecentIds(int capacity) {
    this.capacity = capacity;
    this.hi = new long[capacity];
    this.lo = new long[capacity];
    int buckets = Integer.highestOneBit(Math.max(4, capacity * 4) - 1) << 1; // load factor ≤ 1/4
    this.table = new int[buckets];
    this.mask = buckets - 1;
  }

  boolean contains(String id) {
    long h = high(id);
    return contains(h, low(id, h));
  }

  private boolean contains(long h, long l) {
    for (int b = bucket(h, l); table[b] != 0; b = (b + 1) & mask) {
      int slot = table[b] - 1;
      if (hi[slot] == h && lo[slot] == l) {
        return true;
      }
    }
    return false;
  }

  /** Remembers {@code id}, forgetting the oldest beyond the capacity. */
  void add(String id) {
    long h = high(id);
    long l = low(id, h);
    if (contains(h, l)) {
      return;
    }
    if (size == capacity) {
      remove(oldest);
      oldest = (oldest + 1) % capacity;
      size--;
    }
    int slot = (oldest + size) % capacity;
    hi[slot] = h;
    lo[slot] = l;
    int b = bucket(h, l);
    while (table[b] != 0) {
      b = (b + 1) & mask;
    }
    table[b] = slot + 1;
    size++;
  }

  void clear() {
    java.util.Arrays.fill(table, 0);
    oldest = 0;
    size = 0;
  }

  int size() {
    return size;
  }

  /** Takes ring slot {@code slot} out of the table, shifting back the entries probed past it. */
  private void remove(int slot) {
    int b = bucket(hi[slot], lo[slot]);
    while (table[b] != slot + 1) {
      b = (b + 1) & mask;
    }
    int gap = b;
    for (int i = (gap + 1) & mask; table[i] != 0; i = (i + 1) & mask) {
      int s = table[i] - 1;
      int home = bucket(hi[s], lo[s]);
      // the entry at i may fill the gap unless its home lies cyclically in (gap, i]
      boolean homeBetween = gap <= i ? (gap < home && home <= i) : (gap < home || home <= i);
      if (!homeBetween) {
        table[gap] = table[i];
        gap = i;
      }
    }
    table[gap] = 0;
  }

  private int bucket(long h, long l) {
    long x = (h ^ l) * 0x9E3779B97F4A7C15L;
    return (int) (x >>> 40) & mask;
  }

  /** The UUID's first half; for any other id, a 64-bit FNV-1a hash with the UUID version bits cleared. */
  private static long high(String id) {
    if (isUuid(id)) {
      return hex(id, 0, 8) << 32 | hex(id, 9, 13) << 16 | hex(id, 14, 18);
    }
    long h = 0xcbf29ce484222325L;
    for (int i = 0; i < id.length(); i++) {
      h = (h ^ id.charAt(i)) * 0x100000001b3L;
    }
    return h & ~0xF000L; // version 0: never equal to an event id's (version 4)
  }

  private static long low(String id, long high) {
    if (isUuid(id)) {
      return hex(id, 19, 23) << 48 | hex(id, 24, 36);
    }
    long h = high ^ 0x5DEECE66DL;
    for (int i = id.length() - 1; i >= 0; i--) {
      h = Long.rotateLeft(h ^ id.charAt(i), 29) * 0xBF58476D1CE4E5B9L;
    }
    return h ^ (h >>> 31);
  }

  /** 8-4-4-4-12 lower-case hex digits (as UUID.toString writes them; another spelling is another id), not version 0 (a hashed id's). */
  private static boolean isUuid(String id) {
    if (id.length() != 36 || id.charAt(8) != '-' || id.charAt(13) != '-' || id.charAt(18) != '-' || id.charAt(23) != '-') {
      return false;
    }
    for (int i = 0; i < 36; i++) {
      char c = id.charAt(i);
      if (i != 8 && i != 13 && i != 18 && i != 23 && !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
        return false;
      }
    }
    return Character.digit(id.charAt(14), 16) != 0;
  }

  private static long hex(String s, int from, int to) {
    long v = 0;
    for (int i = from; i < to; i++) {
      v = v << 4 | Character.digit(s.charAt(i), 16);
    }
    return v;
  }
}
