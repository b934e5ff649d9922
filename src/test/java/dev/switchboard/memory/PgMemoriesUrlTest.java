package dev.switchboard.memory;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("long-term memory on PostgreSQL, given a DATABASE_URL that does not parse")
class PgMemoriesUrlTest {

  @Test
  @DisplayName("the store refuses it naming DATABASE_URL, and the password in it is never in the message")
  void malformedUrlRefusedWithoutPassword() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      RuntimeException e = assertThrows(RuntimeException.class,
          () -> new PgMemories(vertx, "postgresql://switchboard:pg-s3cret-pw@127.0.0.1:notaport/switchboard"));
      assertTrue(e.getMessage().contains("DATABASE_URL"), e.getMessage());
      assertFalse(e.getMessage().contains("pg-s3cret-pw"), e.getMessage());
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }
}
