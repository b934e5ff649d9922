package dev.switchboard.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Audit log in a file (embedded profile)")
class EmbeddedAuditLogTest extends AuditLogBehaviour {

  Path dataDir;

  @Override
  protected void prepare() throws Exception {
    dataDir = Files.createTempDirectory("audit-test");
  }

  @Override
  protected AuditLog open() {
    return new EmbeddedAuditLog(vertx, dataDir);
  }

  @Override
  protected void cleanUp() throws Exception {
    try (Stream<Path> files = Files.walk(dataDir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  /** A digit of the record's target: still JSON, still a record, only its hash no longer fits. */
  @Override
  protected void changeOneByte(long seq) throws Exception {
    Path file = dataDir.resolve(EmbeddedAuditLog.FILE);
    List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    String line = lines.get((int) seq - 1);
    int at = line.indexOf("target-" + seq) + "target-".length();
    byte[] bytes = Files.readAllBytes(file);
    long offset = 0;
    for (int i = 0; i < seq - 1; i++) {
      offset += lines.get(i).getBytes(StandardCharsets.UTF_8).length + 1;
    }
    offset += line.substring(0, at).getBytes(StandardCharsets.UTF_8).length;
    bytes[(int) offset] = (byte) '9';
    Files.write(file, bytes);
  }

  @Test
  @DisplayName("a record cut short by a crash is cut off, and the chain goes on from the last whole one")
  void tornTailIsCutOff() throws Exception {
    await(log.append(List.of(event("alice", "a", "1"), event("alice", "a", "2"))));
    await(log.close());
    Files.writeString(dataDir.resolve(EmbeddedAuditLog.FILE), "{\"action\":\"a\",\"deta", StandardOpenOption.APPEND);

    log = open();
    await(log.append(List.of(event("alice", "a", "3"))));
    AuditLog.Verification v = await(log.verify());
    assertTrue(v.intact(), v.describe());
    assertEquals(3, v.records());
  }

  @Test
  @DisplayName("a byte that is not UTF-8 is named like any other change")
  void invalidUtf8IsNamed() throws Exception {
    await(log.append(List.of(event("alice", "a", "1"), event("alice", "a", "2"))));
    Path file = dataDir.resolve(EmbeddedAuditLog.FILE);
    byte[] bytes = Files.readAllBytes(file);
    int second = Files.readAllLines(file).get(0).length() + 1;
    bytes[second + 3] = (byte) 0xFF;
    Files.write(file, bytes);

    AuditLog.Verification v = await(log.verify());
    assertEquals(2, v.brokenSeq(), v.describe());
  }
}
