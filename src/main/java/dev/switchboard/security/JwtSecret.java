package dev.switchboard.security;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * The HS256 secret. The gateway never runs unauthenticated: with no secret configured it creates
 * one at first start, readable by its owner only, and reuses it afterwards.
 */
public record JwtSecret(String value, String origin) {

  public static final String FILE = "jwt-secret";
  static final int MIN_LENGTH = 32;

  /** Blocking file I/O: call it before Vert.x starts, never from an event loop. */
  public static JwtSecret resolve(String configured, Path dataDir) throws IOException {
    if (configured != null && !configured.isEmpty()) {
      if (configured.getBytes(StandardCharsets.UTF_8).length < MIN_LENGTH) {
        throw new IllegalArgumentException("security.jwt_secret must be at least " + MIN_LENGTH + " bytes for HS256");
      }
      return new JwtSecret(configured, "SWITCHBOARD_JWT_SECRET");
    }
    Path file = dataDir.resolve(FILE);
    if (Files.exists(file)) {
      return stored(file);
    }
    byte[] random = new byte[48];
    new SecureRandom().nextBytes(random);
    String generated = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
    Files.createDirectories(dataDir);
    // written whole under another name, then hard-linked into place, which fails rather than
    // replaces: two processes starting at once (gateway and token command) share one secret
    Path tmp = Files.createTempFile(dataDir, FILE, ".tmp",
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    try {
      Files.writeString(tmp, generated + "\n", StandardCharsets.UTF_8);
      Files.createLink(file, tmp);
    } catch (FileAlreadyExistsException raced) {
      return stored(file);
    } finally {
      Files.deleteIfExists(tmp);
    }
    return new JwtSecret(generated, file + " (generated now)");
  }

  private static JwtSecret stored(Path file) throws IOException {
    String stored = Files.readString(file, StandardCharsets.UTF_8).trim();
    if (stored.getBytes(StandardCharsets.UTF_8).length < MIN_LENGTH) {
      throw new IllegalArgumentException(file + " holds a JWT secret shorter than " + MIN_LENGTH
          + " bytes: delete it to have a new one generated, or set SWITCHBOARD_JWT_SECRET");
    }
    return new JwtSecret(stored, file.toString());
  }

  public boolean generatedNow() {
    return origin.endsWith("(generated now)");
  }
}
