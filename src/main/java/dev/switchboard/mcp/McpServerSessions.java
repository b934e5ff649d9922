package dev.switchboard.mcp;

import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * The sessions of {@code POST /mcp}: an id issued on {@code initialize}, bound to the token's subject
 * and the negotiated protocol version, forgotten after {@code idle} without a request. Expiry is
 * lazy (checked on each look-up, swept on each new session), so no timer runs for an endpoint nobody
 * uses; {@code max} bounds how many a flood of initializes can keep, and {@code perSubject} how many
 * of those one subject holds, so that one token's flood cannot lock every other subject out.
 */
public final class McpServerSessions {

  /** Long enough for an IDE left open over lunch; a client that finds its session gone starts a new one. */
  public static final Duration DEFAULT_IDLE = Duration.ofMinutes(30);
  public static final int DEFAULT_MAX = 10_000;
  /** An IDE opens one per window or agent; a client that never ends its sessions loses its oldest. */
  public static final int DEFAULT_PER_SUBJECT = 100;

  /** One client's session. {@code lastSeen} is in the clock's nanoseconds. */
  public static final class Session {
    private final String id;
    private final String subject;
    private final String protocolVersion;
    private volatile long lastSeen;

    Session(String id, String subject, String protocolVersion, long now) {
      this.id = id;
      this.subject = subject;
      this.protocolVersion = protocolVersion;
      this.lastSeen = now;
    }

    public String id() {
      return id;
    }

    public String subject() {
      return subject;
    }

    public String protocolVersion() {
      return protocolVersion;
    }
  }

  private static final SecureRandom RANDOM = new SecureRandom();

  private final Map<String, Session> sessions = new ConcurrentHashMap<>();
  private final long idleNanos;
  private final int max;
  private final int perSubject;
  private final LongSupplier clock;

  public McpServerSessions() {
    this(DEFAULT_IDLE, DEFAULT_MAX, DEFAULT_PER_SUBJECT, System::nanoTime);
  }

  public McpServerSessions(Duration idle, int max, int perSubject, LongSupplier clock) {
    this.idleNanos = idle.toNanos();
    this.max = max;
    this.perSubject = perSubject;
    this.clock = clock;
  }

  /**
   * A new session, or empty when {@code max} live sessions exist already. A subject that holds
   * {@code perSubject} live sessions loses its least recently used one (which then answers 404, so
   * its client starts again), rather than taking room from other subjects.
   */
  public Optional<Session> open(String subject, String protocolVersion) {
    long now = clock.getAsLong();
    sessions.values().removeIf(s -> expired(s, now));
    int own = 0;
    Session oldest = null;
    for (Session s : sessions.values()) {
      if (s.subject().equals(subject)) {
        own++;
        if (oldest == null || s.lastSeen - oldest.lastSeen < 0) {
          oldest = s;
        }
      }
    }
    if (own >= perSubject) {
      sessions.remove(oldest.id(), oldest);
    } else if (sessions.size() >= max) {
      return Optional.empty();
    }
    byte[] bytes = new byte[16];
    RANDOM.nextBytes(bytes);
    // visible ASCII only, as the transport requires of a session id
    Session s = new Session(HexFormat.of().formatHex(bytes), subject, protocolVersion, now);
    sessions.put(s.id(), s);
    return Optional.of(s);
  }

  /**
   * The live session with this id that belongs to {@code subject}, its idle clock restarted. A
   * session of another subject is reported as unknown: a session id alone must not reveal or lend
   * anything to a different token.
   */
  public Optional<Session> touch(String id, String subject) {
    long now = clock.getAsLong();
    Session s = id == null ? null : sessions.get(id);
    if (s == null || !s.subject().equals(subject)) {
      return Optional.empty();
    }
    if (expired(s, now)) {
      sessions.remove(id, s);
      return Optional.empty();
    }
    s.lastSeen = now;
    return Optional.of(s);
  }

  /** Ends the session (DELETE /mcp); false when there was no such live session for this subject. */
  public boolean close(String id, String subject) {
    Optional<Session> s = touch(id, subject);
    s.ifPresent(live -> sessions.remove(live.id(), live));
    return s.isPresent();
  }

  public int size() {
    return sessions.size();
  }

  private boolean expired(Session s, long now) {
    return now - s.lastSeen >= idleNanos;
  }
}
