package dev.switchboard.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Revoked tokens, embedded (a file in the data folder)")
class EmbeddedRevokedTokensTest extends RevokedTokensBehaviour {

  Path dir;

  @Override
  RevokedTokens open(Vertx vertx) throws Exception {
    dir = Files.createTempDirectory("sb-revoked");
    return reopen(vertx);
  }

  @Override
  RevokedTokens reopen(Vertx vertx) throws Exception {
    return EmbeddedRevokedTokens.open(vertx, dir).await(10, TimeUnit.SECONDS);
  }

  @AfterEach
  void deleteDir() throws Exception {
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  @Test
  @DisplayName("entries past their until are dropped from the file when it is next written")
  void expiredDroppedFromFile() throws Exception {
    long past = System.currentTimeMillis() - 1_000;
    Files.writeString(dir.resolve(EmbeddedRevokedTokens.FILE), "{\"old\":" + past + ",\"kept\":null}");
    await(store.close());
    store = reopen(vertx);
    await(store.revoke("new", inAnHour()));
    String file = Files.readString(dir.resolve(EmbeddedRevokedTokens.FILE));
    assertFalse(file.contains("old"), file);
    assertTrue(file.contains("kept") && file.contains("new"), file);
  }

  @Test
  @DisplayName("a file that is not what the gateway writes stops the start instead of forgetting revocations")
  void brokenFileRefused() throws Exception {
    Files.writeString(dir.resolve(EmbeddedRevokedTokens.FILE), "{not json");
    Exception e = assertThrows(Exception.class, () -> reopen(vertx));
    assertTrue(e.getMessage().contains("delete it to forget every revocation"), e.getMessage());
    assertEquals("{not json", Files.readString(dir.resolve(EmbeddedRevokedTokens.FILE)));
  }
}
