package dev.switchboard.events;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.switchboard.store.EmbeddedStore;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The event store behaviours on the embedded profile (SQLite in the data folder), plus what only it does. */
@DisplayName("Event store, embedded profile")
class EmbeddedEventStoreTest extends EventStoreBehaviour {

  @TempDir
  Path dataDir;

  @Override
  EventStore create() throws Exception {
    EmbeddedStore s = EmbeddedStore.open(vertx, dataDir).await(10, TimeUnit.SECONDS);
    return EmbeddedEventStore.open(s).await(10, TimeUnit.SECONDS);
  }

  @Test
  @DisplayName("an event a previous process stored but never handed over is due at once after a restart")
  void previousProcessLeaseDroppedAtOpen() throws Exception {
    await(store.store(message("m-1", "dingtalk"), "crashed", LONG));
    await(store.close());
    store = create();
    List<EventStore.Due> due = await(store.due("next", LONG, 10));
    assertEquals(1, due.size());
    assertEquals("m-1", due.get(0).event().getString("id"));
  }
}
