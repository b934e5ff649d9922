package dev.switchboard.schedule;

import dev.switchboard.store.EmbeddedStore;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;

@DisplayName("Schedule store, embedded (SQLite)")
class EmbeddedScheduleStoreTest extends ScheduleStoreBehaviour {

  Path dir;

  @Override
  ScheduleStore open(Vertx vertx) throws Exception {
    dir = Files.createTempDirectory("sb-schedules");
    return reopen(vertx);
  }

  @Override
  ScheduleStore reopen(Vertx vertx) throws Exception {
    return new EmbeddedScheduleStore(EmbeddedStore.open(vertx, dir).await(10, TimeUnit.SECONDS));
  }

  @AfterEach
  void deleteDir() throws Exception {
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
