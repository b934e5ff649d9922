package dev.switchboard.audit;

import io.vertx.core.Future;
import java.util.List;

/**
 * The audit store: one hash chain, appended to in batches and never rewritten. The embedded
 * profile keeps it in a file ({@link EmbeddedAuditLog}), the distributed one in PostgreSQL
 * ({@link PgAuditLog}); both pass AuditLogBehaviour.
 */
public interface AuditLog {

  /**
   * Chains the events after the last stored record and stores them durably, in this order. An
   * event whose id is already stored is left out (a batch appended again after a lost answer).
   */
  Future<List<AuditRecord>> append(List<AuditEvent> events);

  /** Records matching the query, newest first. */
  Future<Page> query(Query query);

  /** Walks the whole chain from the first record. */
  Future<Verification> verify();

  Future<Void> close();

  /**
   * Filters of a listing; null or 0 means any. {@code before}: only records with a smaller seq
   * (the page cursor), {@link Long#MAX_VALUE} for the first page.
   */
  record Query(String subject, String action, long sinceMillis, int limit, long before) {
    boolean matches(AuditRecord r) {
      AuditEvent e = r.event();
      return r.seq() < before
          && (subject == null || subject.equals(e.subject()))
          && (action == null || action.equals(e.action()))
          && e.time() >= sinceMillis;
    }
  }

  /** One page, newest first; {@code next} is the seq to continue below, or 0 when this is the last page. */
  record Page(List<AuditRecord> data, long next) {
  }

  /**
   * The outcome of a walk: {@code records} checked; {@code brokenSeq} 0 when the chain is intact,
   * else the first record (by its place in the chain) that does not hold, and {@code reason} why.
   */
  record Verification(long records, long brokenSeq, String reason) {
    public boolean intact() {
      return brokenSeq == 0;
    }

    /** What the verify command prints. */
    public String describe() {
      return intact() ? "chain intact, " + records + " records"
          : "chain broken at record " + brokenSeq + ": " + reason + " (" + (brokenSeq - 1) + " records before it verified)";
    }
  }

  /** Checks stored lines one after the other; shared by the stores so that both judge a chain alike. */
  final class Walk {
    private long seq;
    private String prev = AuditRecord.GENESIS;
    private Verification broken;

    /** False once the chain is broken (at this line or before). */
    public boolean accept(String line) {
      if (broken != null) {
        return false;
      }
      long expected = seq + 1;
      AuditRecord r;
      try {
        r = AuditRecord.parse(line);
      } catch (IllegalArgumentException e) {
        return fail(expected, "not a readable record (" + e.getMessage() + ")");
      }
      if (r.seq() != expected) {
        return fail(expected, "holds seq " + r.seq() + " where " + expected + " belongs (a record removed or moved)");
      }
      if (!r.prev().equals(prev)) {
        return fail(expected, "its prev hash is not the hash of record " + seq);
      }
      if (!r.expectedHash().equals(r.hash())) {
        return fail(expected, "its content does not match its hash (changed after it was written)");
      }
      if (!r.line().equals(line)) {
        return fail(expected, "its stored form is not the canonical one (changed after it was written)");
      }
      seq = expected;
      prev = r.hash();
      return true;
    }

    /** Takes back the record just accepted: what a store keeps beside its line (index columns) does not hold. */
    public void reject(String reason) {
      seq--;
      fail(seq + 1, reason);
    }

    private boolean fail(long at, String reason) {
      broken = new Verification(seq, at, reason);
      return false;
    }

    /** The last good record's seq and hash, for appending after them. */
    public long seq() {
      return seq;
    }

    public String prev() {
      return prev;
    }

    public Verification result() {
      return broken != null ? broken : new Verification(seq, 0, null);
    }
  }
}
