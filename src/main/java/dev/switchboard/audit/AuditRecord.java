package dev.switchboard.audit;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.StringWriter;
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
    AuditRecord unhashed = new AuditRecord(seq, event, prev, "");
    int[] afterDetails = new int[1];
    String canonical = unhashed.form(false, afterDetails);
    String hash = sha256(canonical);
    // "hash" sorts right after "details": the stored line is the canonical one with it put there
    String line = canonical.substring(0, afterDetails[0]) + ",\"hash\":\"" + hash + '"' + canonical.substring(afterDetails[0]);
    return new Chained(new AuditRecord(seq, event, prev, hash), line);
  }

  /**
   * The one form that is hashed: the JSON object of every field but {@code hash}, keys sorted at
   * every level, no white space, time as ISO-8601 UTC. Defined here only; both stores keep
   * {@link #line()} and check it against this.
   */
  public String canonical() {
    return form(false, null);
  }

  /** The stored form: the canonical fields plus {@code hash}, keys sorted. */
  public String line() {
    return form(true, null);
  }

  private static final JsonFactory JSON = new JsonFactory();

  /**
   * What {@link #fields} encodes to, written field by field in sorted order: every chat leaves two
   * records, and their maps were a quarter of what the gateway allocated per call.
   */
  private String form(boolean withHash, int[] afterDetails) {
    StringWriter out = new StringWriter(512);
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.writeStartObject();
      string(g, "action", event.action());
      g.writeFieldName("details");
      g.writeStartObject();
      for (String k : sorted(event.details())) {
        string(g, k, event.details().get(k));
      }
      g.writeEndObject();
      if (afterDetails != null) {
        g.flush();
        afterDetails[0] = out.getBuffer().length();
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
    } catch (IOException e) {
      throw new UncheckedIOException("a StringWriter does not fail", e);
    }
    return out.toString();
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
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java has SHA-256", e);
    }
  }
}
