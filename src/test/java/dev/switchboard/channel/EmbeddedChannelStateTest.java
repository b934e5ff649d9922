package dev.switchboard.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.switchboard.store.EmbeddedStore;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The channel state behaviours on the embedded profile: SQLite under the data dir, windows in memory. */
@DisplayName("Channel state, embedded profile")
class EmbeddedChannelStateTest extends ChannelStateBehaviour {

  @TempDir
  Path dataDir;
  EmbeddedStore store;
  LocalWindows windows;

  @Override
  void open() {
    store = await(EmbeddedStore.open(vertx, dataDir));
    windows = new LocalWindows();
  }

  @Override
  void close() {
    await(store.close());
  }

  @Override
  Claims newClaims() {
    return new EmbeddedClaims(store);
  }

  @Override
  Deliveries newDeliveries(String owner, Duration lease, Duration retention) {
    return new EmbeddedDeliveries(store, owner, lease, retention);
  }

  @Override
  RateWindows windows() {
    return windows;
  }

  @Test
  @DisplayName("a start gives back the leases a stopped process left (one instance per data dir): every pending delivery resumes at once")
  void startResumesEverything() {
    Deliveries before = deliveries("before", LONG);
    String id = push(before, "task-" + run, "webhook", "erp").record().id();
    Deliveries after = new EmbeddedDeliveries(store, "after", LONG, RETENTION);
    await(after.init());
    assertEquals(List.of(id), await(after.takeOver(10)).stream().map(Deliveries.Record::id).toList());
  }
}
