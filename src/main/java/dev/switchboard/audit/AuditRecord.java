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
   * a quarter of what the gateway allocated per chat (which leaves two). Not thread-safe: a store
   * uses one per batch.
   */
  public static final class Batch {

    private final StringBuilder text = new StringBuilder(1024);
    private final JsonGenerator g;
    private final MessageDigest sha = sha256Digest();
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

    public Chained next(AuditEvent event) {
      AuditRecord unhashed = new AuditRecord(++seq, event, prev, "");
      text.setLength(0);
      int afterDetails;
      try {
        afterDetails = unhashed.write(g, false, true);
      } catch (IOException e) {
        throw new UncheckedIOException("writing to memory does not fail", e);
      }
      digestText();
      String hash = HexFormat.of().formatHex(sha.digest());
      // "hash" sorts right after "details": the stored line is the canonical one with it put there
      text.insert(afterDetails, ",\"hash\":\"" + hash + '"');
      prev = hash;
      return new Chained(new AuditRecord(seq, event, unhashed.prev, hash), text.toString());
    }

    /** Feeds the canonical form's UTF-8 bytes to the digest, copied straight from the buffer when it is ASCII (nearly always). */
    private void digestText() {
      int n = text.length();
      if (bytes.length < n) {
        bytes = new byte[Math.max(n, bytes.length * 2)];
      }
      for (int i = 0; i < n; i++) {
        char c = text.charAt(i);
        if (c >= 0x80) {
          sha.update(text.toString().getBytes(StandardCharsets.UTF_8));
          return;
        }
        bytes[i] = (byte) c;
      }
      sha.update(bytes, 0, n);
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
      write(g, withHash, false);
    } catch (IOException e) {
      throw new UncheckedIOException("writing to memory does not fail", e);
    }
    return text.toString();
  }

  /** Writes the record and flushes; returns where the details object ends when {@code markDetails}, else -1. */
  private int write(JsonGenerator g, boolean withHash, boolean markDetails) throws IOException {
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
    string(g, "time", Instant.ofEpochMilli(event.time()).toString());
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
