package dev.switchboard.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("The JWT secret")
class JwtSecretTest {

  @Test
  @DisplayName("with none configured, one is generated at first start, owner-only, and reused after")
  void generatedOnceOwnerOnly(@TempDir Path data) throws Exception {
    JwtSecret first = JwtSecret.resolve("", data);
    assertTrue(first.generatedNow());
    assertTrue(first.value().length() >= 32);
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(data.resolve(JwtSecret.FILE))));
    JwtSecret second = JwtSecret.resolve(null, data);
    assertFalse(second.generatedNow());
    assertEquals(first.value(), second.value());
  }

  @Test
  @DisplayName("a configured secret wins and nothing is written")
  void configuredWins(@TempDir Path data) throws Exception {
    JwtSecret s = JwtSecret.resolve("configured-secret-0123456789abcdef", data);
    assertEquals("configured-secret-0123456789abcdef", s.value());
    assertFalse(Files.exists(data.resolve(JwtSecret.FILE)));
  }
}
