package dev.switchboard.mcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("MCP server sessions")
class McpServerSessionsTest {

  final AtomicLong now = new AtomicLong();
  final McpServerSessions sessions = new McpServerSessions(Duration.ofMinutes(30), 3, 2, now::get);

  @Test
  @DisplayName("a session idle for the idle time is gone")
  void idleSessionExpires() {
    String id = sessions.open("alice", "2025-06-18").orElseThrow().id();
    now.addAndGet(Duration.ofMinutes(30).toNanos());
    assertTrue(sessions.touch(id, "alice").isEmpty());
  }

  @Test
  @DisplayName("each request restarts the idle clock")
  void touchKeepsTheSession() {
    String id = sessions.open("alice", "2025-06-18").orElseThrow().id();
    now.addAndGet(Duration.ofMinutes(20).toNanos());
    assertTrue(sessions.touch(id, "alice").isPresent());
    now.addAndGet(Duration.ofMinutes(20).toNanos());
    assertTrue(sessions.touch(id, "alice").isPresent());
  }

  @Test
  @DisplayName("a session is only its own subject's")
  void otherSubjectDoesNotSeeIt() {
    String id = sessions.open("alice", "2025-06-18").orElseThrow().id();
    assertTrue(sessions.touch(id, "mallory").isEmpty());
    assertFalse(sessions.close(id, "mallory"));
    assertTrue(sessions.touch(id, "alice").isPresent());
  }

  @Test
  @DisplayName("at most max live sessions; expired ones make room")
  void boundedAndSweptOnOpen() {
    for (String subject : new String[] {"alice", "bob", "carol"}) {
      assertTrue(sessions.open(subject, "2025-06-18").isPresent());
    }
    assertTrue(sessions.open("dave", "2025-06-18").isEmpty());
    now.addAndGet(Duration.ofHours(1).toNanos());
    assertTrue(sessions.open("dave", "2025-06-18").isPresent());
    assertEquals(1, sessions.size());
  }

  @Test
  @DisplayName("one subject opening session after session cannot take the room of another subject")
  void oneSubjectCannotCrowdOutOthers() {
    for (int i = 0; i < 10; i++) {
      assertTrue(sessions.open("mallory", "2025-06-18").isPresent());
    }
    assertTrue(sessions.open("alice", "2025-06-18").isPresent());
  }

  @Test
  @DisplayName("a subject at its limit loses its least recently used session, and only that one")
  void subjectAtItsLimitLosesItsLeastRecentlyUsed() {
    String a = sessions.open("alice", "2025-06-18").orElseThrow().id();
    now.addAndGet(1);
    String b = sessions.open("alice", "2025-06-18").orElseThrow().id();
    now.addAndGet(1);
    assertTrue(sessions.touch(a, "alice").isPresent());
    now.addAndGet(1);
    String c = sessions.open("alice", "2025-06-18").orElseThrow().id();
    assertTrue(sessions.touch(b, "alice").isEmpty(), "b was the least recently used");
    assertTrue(sessions.touch(a, "alice").isPresent());
    assertTrue(sessions.touch(c, "alice").isPresent());
  }

  @Test
  @DisplayName("ids are distinct and closed sessions are gone")
  void closeEnds() {
    String a = sessions.open("alice", "2025-06-18").orElseThrow().id();
    String b = sessions.open("alice", "2025-06-18").orElseThrow().id();
    assertNotEquals(a, b);
    assertTrue(sessions.close(a, "alice"));
    assertTrue(sessions.touch(a, "alice").isEmpty());
    assertTrue(sessions.touch(b, "alice").isPresent());
  }
}
