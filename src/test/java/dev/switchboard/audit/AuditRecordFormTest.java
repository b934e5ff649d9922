package dev.switchboard.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.time.Instant;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The hashed and the stored form of a record are written field by field; they must stay byte for
 * byte the key-sorted JSON object that every record written so far was hashed as, or old chains
 * would stop verifying.
 */
@DisplayName("A record's canonical and stored forms are exactly its key-sorted JSON object")
class AuditRecordFormTest {

  private static final List<String> AWKWARD = List.of("", "plain", "quote \" and \\ backslash", "slash / <b>&amp;</b>",
      "control \u0000 \u0001 \t \n \r \u001f", "中文 — \u2028 \u2029 \uD83D\uDE00", "\uDBFF\uDFFF", "é" + "x".repeat(300));

  @Test
  void everyFieldEncodesAsTheSortedObjectDoes() {
    long seq = 1;
    String prev = AuditRecord.GENESIS;
    for (String text : AWKWARD) {
      AuditEvent event = new AuditEvent("id-" + text, 1_700_000_000_123L + seq, text, "model.call", text, text, text,
          Map.of("duration_ms", seq, "b" + text, -seq, "a", Long.MAX_VALUE),
          Map.of("provider", text, "Z" + text, "z", "a" + text, ""));
      AuditRecord r = AuditRecord.chain(seq++, prev, event);
      assertEquals(r.fields(false).encode(), r.canonical(), text);
      assertEquals(r.fields(true).encode(), r.line(), text);
      assertEquals(AuditRecord.sha256(r.fields(false).encode()), r.hash(), text);
      AuditRecord.Chained c = AuditRecord.chainWithLine(r.seq(), prev, event);
      assertEquals(r, c.record(), text);
      assertEquals(r.fields(true).encode(), c.line(), text);
      prev = r.hash();
    }
  }

  @Test
  void aBatchChainsEachRecordAsChainingItAloneWould() {
    AuditRecord.Batch batch = new AuditRecord.Batch(41, AuditRecord.GENESIS);
    long seq = 42;
    String prev = AuditRecord.GENESIS;
    for (String text : AWKWARD) {
      AuditEvent event = new AuditEvent("id-" + text, 1_700_000_000_123L, "alice", "api.chat", text, "ok", "",
          Map.of("request_bytes", (long) text.length()), Map.of("status", "200", "note", text));
      AuditRecord alone = AuditRecord.chain(seq++, prev, event);
      AuditRecord.Chained c = batch.next(event);
      assertEquals(alone, c.record(), text);
      assertEquals(alone.line(), c.line(), text);
      prev = alone.hash();
    }
  }

  @Test
  void anEventWithoutSizesOrDetailsEncodesEmptyObjects() {
    AuditRecord r = AuditRecord.chain(7, AuditRecord.GENESIS, AuditEvent.of("alice", "http.request", "/v1/x", "200"));
    assertEquals(r.fields(true).encode(), r.line());
    assertEquals(r.fields(true).encode(), AuditRecord.chainWithLine(7, AuditRecord.GENESIS, r.event()).line());
  }

  @Test
  void aBatchWritesEachStoredLineAsUtf8WithANewline() {
    AuditRecord.Batch batch = new AuditRecord.Batch(0, AuditRecord.GENESIS);
    AuditRecord.Lines lines = new AuditRecord.Lines(16);
    StringBuilder expected = new StringBuilder();
    String prev = AuditRecord.GENESIS;
    long seq = 1;
    for (String text : AWKWARD) {
      AuditEvent event = new AuditEvent("id-" + text, 1_700_000_000_000L + seq * 999, "alice", "api.chat", text, "ok", "",
          Map.of("request_bytes", (long) text.length()), Map.of("note", text));
      AuditRecord alone = AuditRecord.chain(seq++, prev, event);
      assertEquals(alone, batch.next(event, lines), text);
      expected.append(alone.line()).append('\n');
      prev = alone.hash();
    }
    assertEquals(expected.toString(), new String(lines.buffer().array(), 0, lines.size(), StandardCharsets.UTF_8));
  }

  @Test
  void aLoneSurrogateIsStoredAsTheQuestionMarkItWasHashedAs() {
    AuditEvent event = new AuditEvent("id-1", 1_700_000_000_123L, "alice", "api.chat", "bad \uD800 half", "ok", "",
        Map.of(), Map.of("note", "é \uDC00"));
    AuditRecord.Batch batch = new AuditRecord.Batch(0, AuditRecord.GENESIS);
    AuditRecord.Chained c = batch.next(event);
    assertEquals(AuditRecord.chain(1, AuditRecord.GENESIS, event).hash(), c.record().hash());
    AuditRecord readBack = AuditRecord.parse(c.line());
    assertEquals("bad ? half", readBack.event().target());
    assertEquals("é ?", readBack.event().details().get("note"));
    assertEquals(c.record().hash(), readBack.expectedHash(), "the stored line verifies");
    AuditRecord.Lines lines = new AuditRecord.Lines(16);
    new AuditRecord.Batch(0, AuditRecord.GENESIS).next(event, lines);
    assertEquals(c.line() + "\n", new String(lines.buffer().array(), 0, lines.size(), StandardCharsets.UTF_8),
        "the file gets the line the table gets");
  }

  @Test
  void timesAreWrittenAsInstantPrintsThem() throws Exception {
    long[] times = {0, 1, -1, 999, 1000, 1_700_000_000_000L, 1_700_000_000_001L, 1_700_000_059_990L,
        1_700_000_060_000L, 1_767_225_599_999L, 1_767_225_600_000L, -62_135_596_800_000L, -62_135_596_800_001L,
        253_402_300_799_999L, 253_402_300_800_000L, Long.MAX_VALUE / 1000, -1_000_000_000_000_000L};
    AuditRecord.Times cached = new AuditRecord.Times();
    for (long t : times) {
      for (int again = 0; again < 2; again++) {
        StringWriter out = new StringWriter();
        try (JsonGenerator g = new JsonFactory().createGenerator(out)) {
          g.writeStartObject();
          cached.write(g, "time", t);
          g.writeEndObject();
        }
        assertEquals("{\"time\":\"" + Instant.ofEpochMilli(t) + "\"}", out.toString(), "time " + t);
      }
    }
  }
}
