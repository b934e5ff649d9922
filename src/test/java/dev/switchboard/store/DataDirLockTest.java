package dev.switchboard.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import java.nio.channels.FileChannel;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
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

  @Test
  @DisplayName("while it holds the folder it reports the space left on the folder's file system")
  void reportsFreeSpace(@TempDir Path data) throws Exception {
    Vertx vertx = dev.switchboard.Gateway.newVertx(true);
    try {
      vertx.deployVerticle(new DataDirLock(data)).await(10, TimeUnit.SECONDS);
      var registry = dev.switchboard.observe.Metrics.current().registry();
      double free = registry.get("switchboard.data.dir.free.bytes").gauge().value();
      double size = registry.get("switchboard.data.dir.size.bytes").gauge().value();
      java.nio.file.FileStore store = java.nio.file.Files.getFileStore(data);
      assertEquals((double) store.getTotalSpace(), size);
      assertTrue(free > 0 && free <= size, free + " free of " + size);
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  /** Whether this JVM holds the folder's lock now: a second lock in the same JVM is refused while it does. */
  private static boolean held(Path data) throws Exception {
    try (FileChannel c = FileChannel.open(data.resolve(DataDirLock.FILE), StandardOpenOption.WRITE)) {
      var lock = c.tryLock();
      if (lock != null) {
        lock.release();
      }
      return lock == null;
    } catch (OverlappingFileLockException sameJvm) {
      return true;
    }
  }

  @Test
  @DisplayName("what runs under the lock is stopped before the lock is let go, even when Vert.x closes everything at once")
  void childrenStopFirst(@TempDir Path data) throws Exception {
    Vertx vertx = Vertx.vertx();
    List<Boolean> heldAtStop = new ArrayList<>();
    VerticleBase writer = new VerticleBase() {
      @Override
      public Future<?> stop() {
        // a store flushing its last writes takes a moment
        Promise<Void> done = Promise.promise();
        vertx.setTimer(200, id -> vertx.executeBlocking(() -> held(data)).onComplete(ar -> {
          heldAtStop.add(ar.succeeded() && ar.result());
          done.complete();
        }));
        return done.future();
      }
    };
    vertx.deployVerticle(new DataDirLock(data, () -> vertx.deployVerticle(writer))).await(10, TimeUnit.SECONDS);
    assertTrue(held(data));
    vertx.close().await(10, TimeUnit.SECONDS);
    assertEquals(List.of(true), heldAtStop, "the folder was still locked while its writer stopped");
    assertTrue(!held(data), "and let go after");
  }

  @Test
  @DisplayName("a component that fails to start under the lock lets go of the folder")
  void failedStartReleases(@TempDir Path data) throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      Throwable e = vertx.deployVerticle(new DataDirLock(data, () -> Future.failedFuture(new IllegalStateException("boom"))))
          .toCompletionStage().toCompletableFuture().handle((id, t) -> t).get(10, TimeUnit.SECONDS);
      assertEquals("boom", e.getMessage());
      assertTrue(!held(data));
      vertx.deployVerticle(new DataDirLock(data)).await(10, TimeUnit.SECONDS);
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }
}
