package dev.switchboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class VersionTest {

  @Test
  void theRunningVersionIsThePomsEvenFromTheClassesFolder() {
    assertTrue(Version.current().matches("\\d+\\.\\d+.*"), Version.current());
  }

  @Test
  void aVersionIsAtLeastAnOlderOrEqualOneComparedPartByPart() {
    assertTrue(Version.atLeast("0.1.0-SNAPSHOT", "0.1"));
    assertTrue(Version.atLeast("0.10.0", "0.9"));
    assertTrue(Version.atLeast("1.0", "1.0.0"));
    assertFalse(Version.atLeast("0.1.0", "0.2"));
    assertFalse(Version.atLeast("0.9.9", "0.10"));
  }

  @Test
  void requiresMustBeDottedNumbers() {
    assertEquals(java.util.List.of(true, true, false, false, false),
        java.util.stream.Stream.of("0.1", "1.2.3", "", "latest", "1.x").map(Version::valid).toList());
  }
}
