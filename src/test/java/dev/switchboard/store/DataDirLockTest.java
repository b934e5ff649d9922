package dev.switchboard.store;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("One gateway per data folder")
class DataDirLockTest {

  @Test
  @DisplayName("a second holder of the same data folder is refused, naming the folder and the PID; after a stop it can take it")
  void secondHolderRefused(@TempDir Path data) throws Exception {
    Vertx first = Vertx.vertx();
    Vertx second = Vertx.vertx();
    try {
      String held = first.deployVerticle(new DataDirLock(data)).await(10, TimeUnit.SECONDS);
      Throwable refused = second.deployVerticle(new DataDirLock(data)).toCompletionStage().toCompletableFuture()
          .handle((id, e) -> e).get(10, TimeUnit.SECONDS);
      DataDirLock.InUse inUse = assertInstanceOf(DataDirLock.InUse.class, refused);
      assertTrue(inUse.getMessage().contains(data.toAbsolutePath().normalize().toString()), inUse.getMessage());
      assertTrue(inUse.getMessage().contains("PID " + ProcessHandle.current().pid()), inUse.getMessage());

      first.undeploy(held).await(10, TimeUnit.SECONDS);
      second.deployVerticle(new DataDirLock(data)).await(10, TimeUnit.SECONDS);
    } finally {
      first.close().await(10, TimeUnit.SECONDS);
      second.close().await(10, TimeUnit.SECONDS);
    }
  }
}
