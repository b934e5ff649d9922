package dev.switchboard.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.switchboard.bus.Failure;
import io.vertx.pgclient.PgException;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** PostgreSQL's own word for a full disk becomes the same answer as the embedded store's. */
@DisplayName("PostgreSQL disk full")
class PgStorageFullTest {

  @Test
  @DisplayName("SQLSTATE 53100 (disk_full) is a 503 storage_full")
  void diskFullIs503StorageFull() {
    PgException full = new PgException("could not extend file \"base/16384/16385\": No space left on device",
        "ERROR", "53100", "Check free disk space.");
    Failure f = (Failure) PgMemories.translate(full);
    assertEquals(503, f.status());
    assertEquals("storage_full", f.code());
  }
}
