package dev.switchboard.audit;

import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

/**
 * What a component reports to the audit log: who did what to which thing, and how it ended. It
 * carries sizes and short details (a provider, a status code), never a message body or a secret,
 * unless {@code audit.include_bodies} keeps the {@link #BODY} detail. {@code id} is unique per
 * event, so an event appended again after a lost acknowledgement is stored once.
 */
public record AuditEvent(String id, long time, String subject, String action, String target, String outcome,
                         String requestId, Map<String, Long> sizes, Map<String, String> details) {

  /** The detail that holds a message body; dropped unless {@code audit.include_bodies}. */
  public static final String BODY = "body";

  public AuditEvent {
    subject = subject == null ? "" : subject;
    target = target == null ? "" : target;
    outcome = outcome == null ? "" : outcome;
    requestId = requestId == null ? "" : requestId;
    sizes = Map.copyOf(sizes == null ? Map.of() : sizes);
    details = Map.copyOf(details == null ? Map.of() : details);
  }

  /** An event happening now, with no sizes or details yet. */
  public static AuditEvent of(String subject, String action, String target, String outcome) {
    return new AuditEvent(randomId(), System.currentTimeMillis(), subject, action, target, outcome,
        "", Map.of(), Map.of());
  }

  /**
   * An event happening now with all its sizes and details: what a hot path (every chat) records,
   * built at once instead of copying both maps for each value added.
   */
  public static AuditEvent of(String subject, String action, String target, String outcome, String requestId,
                              Map<String, Long> sizes, Map<String, String> details) {
    return new AuditEvent(randomId(), System.currentTimeMillis(), subject, action, target, outcome,
        requestId, sizes, details);
  }

  /**
   * A version-4 UUID from a thread-local generator: the id only has to be unique, and
   * {@code UUID.randomUUID()} takes every event through one shared SecureRandom.
   */
  static String randomId() {
    java.util.concurrent.ThreadLocalRandom r = java.util.concurrent.ThreadLocalRandom.current();
    long msb = (r.nextLong() & ~0xF000L) | 0x4000L;
    long lsb = (r.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
    return new UUID(msb, lsb).toString();
  }

  public AuditEvent requestId(String id) {
    return new AuditEvent(this.id, time, subject, action, target, outcome, id, sizes, details);
  }

  public AuditEvent size(String name, long value) {
    Map<String, Long> more = new TreeMap<>(sizes);
    more.put(name, value);
    return new AuditEvent(id, time, subject, action, target, outcome, requestId, more, details);
  }

  /** A short detail; a null value is left out. */
  public AuditEvent detail(String name, String value) {
    if (value == null) {
      return this;
    }
    Map<String, String> more = new TreeMap<>(details);
    more.put(name, value);
    return new AuditEvent(id, time, subject, action, target, outcome, requestId, sizes, more);
  }

  /** This event without its body, when bodies are not kept. */
  AuditEvent withoutBody() {
    if (!details.containsKey(BODY)) {
      return this;
    }
    Map<String, String> rest = new TreeMap<>(details);
    rest.remove(BODY);
    return new AuditEvent(id, time, subject, action, target, outcome, requestId, sizes, rest);
  }
}
