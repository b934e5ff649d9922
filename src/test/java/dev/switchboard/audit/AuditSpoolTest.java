package dev.switchboard.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("The audit spool")
class AuditSpoolTest {

  @TempDir
  Path dir;

  @Test
  @DisplayName("a line torn by a crash is left out, and the event appended after it in the next run is kept")
  void eventAfterATornLineIsKept() throws Exception {
    AuditEvent first = AuditEvent.of("alice", "api.chat", "", "ok");
    new AuditSpool(dir).append(List.of(first));
    // the crash: part of a line written, no newline, never acknowledged
    Files.writeString(dir.resolve(AuditSpool.FILE), "{\"id\":\"torn", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
    AuditEvent next = AuditEvent.of("bob", "api.chat", "", "ok");
    AuditSpool again = new AuditSpool(dir);
    again.append(List.of(next));
    assertEquals(List.of(first.id(), next.id()), again.read(10).stream().map(AuditEvent::id).toList());
    assertEquals(2, new AuditSpool(dir).size());
  }
}
