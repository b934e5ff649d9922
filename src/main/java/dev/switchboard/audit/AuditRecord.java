package dev.switchboard.audit;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

/**
 * One stored audit record: an {@link AuditEvent} given its place in the chain. {@code prev} is
 * the hash of the record before it ({@link #GENESIS} for the first), {@code hash} the SHA-256 of
 * this record's {@link #canonical()} form, so changing, removing or reordering any stored record
 * breaks the chain from there on.
 */
public record AuditRecord(long seq, AuditEvent event, String prev, String hash) {

  /** The {@code prev} of the first record. */
  public static final String GENESIS = "0".repeat(64);

  /** The next record after {@code prev} (its seq and hash): the hash is computed here, once. */
  public static AuditRecord chain(long seq, String prev, AuditEvent event) {
    AuditRecord unhashed = new AuditRecord(seq, event, prev, "");
    return new AuditRecord(seq, event, prev, sha256(unhashed.canonical()));
  }

  /** A new record and its {@link #line()}, from one writing of its fields: what a store appends. */
  public record Chained(AuditRecord record, String line) {
  }

  public static Chained chainWithLine(long seq, String prev, AuditEvent event) {
    return new Batch(seq - 1, prev).next(event);
  }

  /**
   * Chains the records of one append, one after another: one JSON writer, one buffer and one
   * digest for all of them, where a writer, a digest and four copies of the text per record were
   * a quarter of what the gateway allocated per chat (which leaves two). The stored lines go as
   * UTF-8 straight into a {@link Lines}: the embedded log writes that buffer as it is, where
   * encoding a batch's text again was a third of the audit thread's time. Not thread-safe: a store
   * uses one per batch.
   */
  public static final class Batch {

    private static final byte[] HASH_FIELD = ",\"hash\":\"".getBytes(StandardCharsets.US_ASCII);
    private final StringBuilder text = new StringBuilder(1024);
    private final JsonGenerator g;
    private final MessageDigest sha = sha256Digest();
    private final Times times = new Times();
    private final Lines own = new Lines(1024);
    private byte[] bytes = new byte[1024];
    private long seq;
    private String prev;

    /** A batch chained after the record {@code seq} with hash {@code prev}. */
    public Batch(long seq, String prev) {
      this.seq = seq;
      this.prev = prev;
      try {
        g = JSON.createGenerator(new Appender(text));
      } catch (IOException e) {
        throw new UncheckedIOException("writing to memory does not fail", e);
      }
      g.setRootValueSeparator(null); // records follow each other without a space
    }

    /** The next record and its stored line, as a string (what a table row holds). */
    public Chained next(AuditEvent event) {
      own.clear();
      AuditRecord r = next(event, own);
      return new Chained(r, own.string(0, own.size() - 1));
    }

    /** The next record; its stored line and a newline are appended to {@code lines}. */
    public AuditRecord next(AuditEvent event, Lines lines) {
      AuditRecord unhashed = new AuditRecord(++seq, event, prev, "");
      text.setLength(0);
      int afterDetails;
      try {
        afterDetails = unhashed.write(g, false, true, times);
      } catch (IOException e) {
        throw new UncheckedIOException("writing to memory does not fail", e);
      }
      int n;
      int split;
      if (ascii()) {
        n = text.length();
        split = afterDetails;
      } else {
        // a lone surrogate becomes '?' here, in the hashed and the stored form alike, as it always did
        byte[] head = text.substring(0, afterDetails).getBytes(StandardCharsets.UTF_8);
        byte[] tail = text.substring(afterDetails).getBytes(StandardCharsets.UTF_8);
        n = head.length + tail.length;
        split = head.length;
        if (bytes.length < n) {
          bytes = new byte[n];
        }
        System.arraycopy(head, 0, bytes, 0, head.length);
        System.arraycopy(tail, 0, bytes, head.length, tail.length);
      }
      sha.update(bytes, 0, n);
      String hash = HexFormat.of().formatHex(sha.digest());
      // "hash" sorts right after "details": the stored line is the canonical one with it put there
      lines.append(bytes, 0, split);
      lines.append(HASH_FIELD, 0, HASH_FIELD.length);
      lines.ascii(hash);
      lines.append((byte) '"');
      lines.append(bytes, split, n - split);
      lines.append((byte) '\n');
      prev = hash;
      return new AuditRecord(seq, event, unhashed.prev, hash);
    }

    /** Copies the text into {@link #bytes} when it is ASCII (nearly always), and says whether it was. */
    private boolean ascii() {
      int n = text.length();
      if (bytes.length < n) {
        bytes = new byte[Math.max(n, bytes.length * 2)];
      }
      for (int i = 0; i < n; i++) {
        char c = text.charAt(i);
        if (c >= 0x80) {
          return false;
        }
        bytes[i] = (byte) c;
      }
      return true;
    }
  }

  /** A growing buffer of UTF-8 lines: what a batch's records are written into. */
  public static final class Lines {
    private byte[] buf;
    private int size;

    public Lines(int capacity) {
      buf = new byte[Math.max(16, capacity)];
    }

    public int size() {
      return size;
    }

    public void clear() {
      size = 0;
    }

    /** The lines as they are, for a channel to write. */
    public java.nio.ByteBuffer buffer() {
      return java.nio.ByteBuffer.wrap(buf, 0, size);
    }

    String string(int from, int to) {
      return new String(buf, from, to - from, StandardCharsets.UTF_8);
    }

    void append(byte b) {
      room(1);
      buf[size++] = b;
    }

    void append(byte[] b, int off, int len) {
      room(len);
      System.arraycopy(b, off, buf, size, len);
      size += len;
    }

    void ascii(String s) {
      int n = s.length();
      room(n);
      for (int i = 0; i < n; i++) {
        buf[size++] = (byte) s.charAt(i);
      }
    }

    private void room(int more) {
      if (size + more > buf.length) {
        buf = java.util.Arrays.copyOf(buf, Math.max(size + more, buf.length * 2));
      }
    }
  }

  /**
   * Writes record times as {@link Instant#toString()} does, from the second's text made once: a
   * batch's records fall in a few seconds, and Instant's formatter made four strings per record.
   */
  static final class Times {
    /** 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: four-digit years, which the text below assumes. */
    private static final long FIRST = -62_135_596_800L;
    private static final long LAST = 253_402_300_799L;
    private final char[] chars = new char[24];
    private long second = Long.MIN_VALUE;

    /** Writes the field {@code name} with the time {@code millis}, as Instant.ofEpochMilli(millis).toString(). */
    void write(JsonGenerator g, String name, long millis) throws IOException {
      long s = Math.floorDiv(millis, 1000L);
      int ms = (int) Math.floorMod(millis, 1000L);
      if (s < FIRST || s > LAST) {
        g.writeStringField(name, Instant.ofEpochMilli(millis).toString());
        return;
      }
      if (s != second) {
        // "yyyy-MM-ddTHH:mm:ss" followed by 'Z' when the second is whole
        Instant.ofEpochSecond(s).toString().getChars(0, 19, chars, 0);
        second = s;
      }
      int n = 19;
      if (ms != 0) {
        chars[n++] = '.';
        chars[n++] = (char) ('0' + ms / 100);
        chars[n++] = (char) ('0' + ms / 10 % 10);
        chars[n++] = (char) ('0' + ms % 10);
      }
      chars[n++] = 'Z';
      g.writeFieldName(name);
      g.writeString(chars, 0, n);
    }
  }

  /** A {@link java.io.Writer} onto a StringBuilder: a StringWriter's buffer locks on every write. */
  private static final class Appender extends java.io.Writer {
    private final StringBuilder to;

    Appender(StringBuilder to) {
      this.to = to;
    }

    @Override
    public void write(char[] chars, int off, int len) {
      to.append(chars, off, len);
    }

    @Override
    public void write(String str, int off, int len) {
      to.append(str, off, off + len);
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
    }
  }

  /**
   * The one form that is hashed: the JSON object of every field but {@code hash}, keys sorted at
   * every level, no white space, time as ISO-8601 UTC. Defined here only; both stores keep
   * {@link #line()} and check it against this.
   */
  public String canonical() {
    return form(false);
  }

  /** The stored form: the canonical fields plus {@code hash}, keys sorted. */
  public String line() {
    return form(true);
  }

  private static final JsonFactory JSON = new JsonFactory();

  /**
   * What {@link #fields} encodes to, written field by field in sorted order: every chat leaves two
   * records, and their maps were a quarter of what the gateway allocated per call.
   */
  private String form(boolean withHash) {
    StringBuilder text = new StringBuilder(512);
    try (JsonGenerator g = JSON.createGenerator(new Appender(text))) {
      write(g, withHash, false, new Times());
    } catch (IOException e) {
      throw new UncheckedIOException("writing to memory does not fail", e);
    }
    return text.toString();
  }

  /** Writes the record and flushes; returns where the details object ends when {@code markDetails}, else -1. */
  private int write(JsonGenerator g, boolean withHash, boolean markDetails, Times times) throws IOException {
    int afterDetails = -1;
    g.writeStartObject();
    string(g, "action", event.action());
    g.writeFieldName("details");
    g.writeStartObject();
    for (String k : sorted(event.details())) {
      string(g, k, event.details().get(k));
    }
    g.writeEndObject();
    if (markDetails) {
      g.flush();
      afterDetails = ((Appender) g.getOutputTarget()).to.length();
    }
    if (withHash) {
      string(g, "hash", hash);
    }
    string(g, "id", event.id());
    string(g, "outcome", event.outcome());
    string(g, "prev", prev);
    string(g, "request_id", event.requestId());
    g.writeNumberField("seq", seq);
    g.writeFieldName("sizes");
    g.writeStartObject();
    for (String k : sorted(event.sizes())) {
      g.writeNumberField(k, event.sizes().get(k));
    }
    g.writeEndObject();
    string(g, "subject", event.subject());
    string(g, "target", event.target());
    times.write(g, "time", event.time());
    g.writeEndObject();
    g.flush();
    return afterDetails;
  }

  private static void string(JsonGenerator g, String name, String value) throws IOException {
    if (value == null) {
      g.writeNullField(name);
    } else {
      g.writeStringField(name, value);
    }
  }

  /** The keys in the order a TreeMap keeps them. */
  private static String[] sorted(Map<String, ?> map) {
    String[] keys = map.keySet().toArray(new String[0]);
    if (keys.length > 1) {
      java.util.Arrays.sort(keys);
    }
    return keys;
  }

  /** The API's view (the stored form as JSON). */
  public JsonObject toJson() {
    return fields(true);
  }

  /** The hash this record should have; differs from {@link #hash()} when it was changed after it was written. */
  public String expectedHash() {
    return chain(seq, prev, event).hash();
  }

  /** The record as the key-sorted JSON object that {@link #canonical()} and {@link #line()} write. */
  JsonObject fields(boolean withHash) {
    Map<String, Object> m = new TreeMap<>();
    m.put("seq", seq);
    m.put("id", event.id());
    m.put("time", Instant.ofEpochMilli(event.time()).toString());
    m.put("subject", event.subject());
    m.put("action", event.action());
    m.put("target", event.target());
    m.put("outcome", event.outcome());
    m.put("request_id", event.requestId());
    m.put("sizes", new JsonObject(new TreeMap<String, Object>(event.sizes())));
    m.put("details", new JsonObject(new TreeMap<String, Object>(event.details())));
    m.put("prev", prev);
    if (withHash) {
      m.put("hash", hash);
    }
    return new JsonObject(m);
  }

  /** A stored line read back; {@link IllegalArgumentException} saying what is wrong when it is not a record. */
  public static AuditRecord parse(String line) {
    JsonObject j;
    try {
      j = new JsonObject(line);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("not a JSON object");
    }
    try {
      Map<String, Long> sizes = new TreeMap<>();
      j.getJsonObject("sizes").forEach(e -> sizes.put(e.getKey(), ((Number) e.getValue()).longValue()));
      Map<String, String> details = new TreeMap<>();
      j.getJsonObject("details").forEach(e -> details.put(e.getKey(), (String) e.getValue()));
      AuditEvent event = new AuditEvent(required(j, "id"), Instant.parse(required(j, "time")).toEpochMilli(),
          required(j, "subject"), required(j, "action"), required(j, "target"), required(j, "outcome"),
          required(j, "request_id"), sizes, details);
      Long seq = j.getLong("seq");
      if (seq == null) {
        throw new IllegalArgumentException("field 'seq' is missing");
      }
      return new AuditRecord(seq, event, required(j, "prev"), required(j, "hash"));
    } catch (ClassCastException | NullPointerException | DateTimeParseException e) {
      throw new IllegalArgumentException("a field is missing or of the wrong type");
    }
  }

  private static String required(JsonObject j, String field) {
    String v = j.getString(field);
    if (v == null) {
      throw new IllegalArgumentException("field '" + field + "' is missing");
    }
    return v;
  }

  static String sha256(String text) {
    return HexFormat.of().formatHex(sha256Digest().digest(text.getBytes(StandardCharsets.UTF_8)));
  }

  private static MessageDigest sha256Digest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java has SHA-256", e);
    }
  }
}
