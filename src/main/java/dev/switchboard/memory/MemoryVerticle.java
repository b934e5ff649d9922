package dev.switchboard.memory;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.Failure;
import dev.switchboard.store.EmbeddedStore;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Short-term memory: the recent turns of each conversation, so that an answer in a chat knows what
 * was said before. Embedded profile: the data dir's database, turns kept for 7 days.
 */
public final class MemoryVerticle extends VerticleBase {

  static final Duration TTL = Duration.ofDays(7);

  private final Path dataDir;
  private HistoryStore history;
  private long sweeper = -1;

  public MemoryVerticle(Path dataDir) {
    this.dataDir = dataDir;
  }

  @Override
  public Future<?> start() {
    var bus = vertx.eventBus();
    return EmbeddedStore.open(vertx, dataDir)
        .map(s -> new HistoryStore(s, TTL))
        .compose(h -> {
          history = h;
          return h.init();
        })
        .compose(v -> Future.all(
            bus.<JsonObject>localConsumer(Addresses.MEMORY_HISTORY, this::recent).completion(),
            bus.<JsonObject>localConsumer(Addresses.MEMORY_REMEMBER, this::remember).completion()))
        .onSuccess(v -> sweeper = vertx.setPeriodic(Duration.ofHours(1).toMillis(), id -> history.expire()));
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(sweeper);
    return history == null ? Future.succeededFuture() : history.store().close();
  }

  private void recent(Message<JsonObject> message) {
    history.recent(message.body().getString("conversation"), message.body().getInteger("limit", 10))
        .onSuccess(message::reply)
        .onFailure(e -> Failure.reply(message, Failure.unavailable("memory_unavailable", "history is unavailable: " + e.getMessage())));
  }

  private void remember(Message<JsonObject> message) {
    JsonArray turns = message.body().getJsonArray("turns", new JsonArray());
    history.append(message.body().getString("conversation"), turns)
        .onSuccess(v -> message.reply(null))
        .onFailure(e -> Failure.reply(message, Failure.unavailable("memory_unavailable", "history is unavailable: " + e.getMessage())));
  }
}
