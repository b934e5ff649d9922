package dev.switchboard.events;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.Failure;
import dev.switchboard.bus.Health;
import dev.switchboard.store.EmbeddedStore;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * The inbound events between the channels and the rules. An event comes in on
 * {@link Addresses#EVENTS_INBOUND}, is stored (the store's claim by id tells a re-delivery apart)
 * and answered {@code accepted} or {@code duplicate}; only then does the channel acknowledge the
 * platform. It is then handed to the rules ({@link Addresses#RULES_EVENT}, request/reply) and
 * marked handled when they answer. A hand-over that fails (the rules answer a failure, do not
 * answer, or nobody listens yet) is tried again with a doubling delay kept in the store, so that
 * it holds across instances and restarts; an event a stopped or crashed instance had not handed
 * over is taken by the next sweep (the embedded profile at once, Redis once its lease runs out).
 *
 * <p>Delivery to the rules is at least once: an instance that stops between the rules' answer and
 * marking the event handled hands it over again. Events are kept {@code rules.event_retention}.
 */
public final class EventVerticle extends VerticleBase {

  private static final Logger LOG = Logger.getLogger(EventVerticle.class.getName());

  /** The types that come in from outside; the others (task, delivery, ...) are raised, not stored. */
  static final Set<String> INBOUND_TYPES = Set.of("message", "webhook", "alert");
  /** How long the rules may take to answer a hand-over. */
  static final Duration HAND_OVER_TIMEOUT = Duration.ofSeconds(10);
  /** An instance's hold on an event it is handing over: longer than a hand-over may take. */
  static final Duration LEASE = HAND_OVER_TIMEOUT.plusSeconds(10);
  static final Duration FIRST_RETRY = Duration.ofSeconds(1);
  static final Duration MAX_RETRY = Duration.ofSeconds(60);
  /** How often the store is asked for events due again. */
  static final Duration SWEEP = Duration.ofSeconds(1);
  static final int SWEEP_BATCH = 64;
  static final Duration PURGE_EVERY = Duration.ofMinutes(10);
  static final int DEFAULT_LIMIT = 50;
  static final int MAX_LIMIT = 500;
  static final Duration HEALTH_TIMEOUT = Duration.ofSeconds(2);

  /** Where events are kept: {@code redisPrefix} starts every key on the distributed profile. */
  public record Options(EventSettings settings, String profile, Path dataDir, String redisUrl, String redisPrefix) {
  }

  private final Options options;
  /** Who holds a lease: this deployment, so that a restarted instance is someone else. */
  private final String owner = UUID.randomUUID().toString();
  private EventStore store;
  private long sweeper = -1;
  private long purger = -1;
  private boolean sweeping;
  /** Whether the last hand-over found nobody listening: said once when it starts and once when it ends. */
  private boolean nobodyListens;

  public EventVerticle(Options options) {
    this.options = options;
  }

  private boolean distributed() {
    return "distributed".equals(options.profile());
  }

  @Override
  public Future<?> start() {
    Future<EventStore> opened = distributed()
        ? Future.succeededFuture(new RedisEventStore(vertx, options.redisUrl(), options.redisPrefix()))
        : EmbeddedStore.open(vertx, options.dataDir()).compose(EmbeddedEventStore::open).map(s -> (EventStore) s);
    return opened
        .compose(s -> {
          store = s;
          return Future.all(
              vertx.eventBus().<JsonObject>localConsumer(Addresses.EVENTS_INBOUND, this::inbound).completion(),
              vertx.eventBus().<JsonObject>localConsumer(Addresses.EVENTS_LIST, this::list).completion(),
              vertx.eventBus().<Void>localConsumer(Addresses.EVENTS_HEALTH, this::health).completion());
        })
        .onSuccess(v -> {
          sweeper = vertx.setPeriodic(1, SWEEP.toMillis(), id -> sweep());
          purger = vertx.setPeriodic(1, PURGE_EVERY.toMillis(), id -> purge());
        });
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(sweeper);
    vertx.cancelTimer(purger);
    return store == null ? Future.succeededFuture() : store.close();
  }

  private void inbound(Message<JsonObject> message) {
    JsonObject event = message.body();
    String id = event == null ? null : event.getValue("id") instanceof String s && !s.isBlank() ? s : null;
    String type = event == null ? null : event.getValue("type") instanceof String t ? t : null;
    if (id == null || type == null || !INBOUND_TYPES.contains(type)) {
      Failure.reply(message, Failure.badRequest("invalid_event", "an inbound event needs an id and a type of " + INBOUND_TYPES));
      return;
    }
    if (!(event.getValue("time") instanceof String)) {
      event.put("time", Instant.now().toString());
    }
    store.store(event, owner, LEASE)
        .recover(e -> Future.failedFuture(unavailable(e)))
        .onSuccess(fresh -> {
          message.reply(new JsonObject().put("status", fresh ? "accepted" : "duplicate").put("id", id));
          if (fresh) {
            vertx.eventBus().publish(Addresses.EVENTS_RECEIVED, event.copy());
            handOver(event, 1);
          }
        })
        .onFailure(e -> Failure.reply(message, e));
  }

  /** A store that cannot be asked is the platform's cue to send the event again later. */
  private static Failure unavailable(Throwable e) {
    if (e instanceof Failure f && f.status() == 503) {
      return f;
    }
    return Failure.unavailable("store_unavailable", "the event store is unavailable: " + e.getMessage());
  }

  private void handOver(JsonObject event, int attempts) {
    String id = event.getString("id");
    vertx.eventBus().request(Addresses.RULES_EVENT, event, new DeliveryOptions().setSendTimeout(HAND_OVER_TIMEOUT.toMillis()))
        .onSuccess(reply -> {
          if (nobodyListens) {
            nobodyListens = false;
            LOG.info("the rules take events again");
          }
          store.handled(id).onFailure(e -> LOG.warning("event " + id + " handed over but not marked handled (it will be handed over again): "
              + e.getMessage()));
        })
        .onFailure(e -> {
          boolean none = e instanceof ReplyException re && re.failureType() == ReplyFailure.NO_HANDLERS;
          if (none && !nobodyListens) {
            nobodyListens = true;
            LOG.warning("nothing takes events on " + Addresses.RULES_EVENT + " (the rules are not running): events are kept and handed over once they are");
          } else if (!none && Integer.bitCount(attempts) == 1) {
            // attempts 1, 2, 4, 8...: a failing event is reported, not once a second
            LOG.warning("event " + id + " not taken by the rules (attempt " + attempts + "), trying again: " + e.getMessage());
          }
          store.retryAfter(id, owner, retryDelay(attempts))
              .onFailure(f -> LOG.fine("retry of event " + id + " not scheduled (it is due when its lease runs out): " + f.getMessage()));
        });
  }

  /** 1 s, 2 s, 4 s... up to a minute. */
  static Duration retryDelay(int attempts) {
    int doublings = Math.max(0, Math.min(attempts - 1, 16));
    Duration d = FIRST_RETRY.multipliedBy(1L << doublings);
    return d.compareTo(MAX_RETRY) > 0 ? MAX_RETRY : d;
  }

  /** Hands over what is due: events whose retry time came, and those an instance that went away left behind. */
  private void sweep() {
    if (sweeping) {
      return;
    }
    sweeping = true;
    store.due(owner, LEASE, SWEEP_BATCH)
        .onComplete(ar -> sweeping = false)
        .onSuccess(due -> due.forEach(d -> handOver(d.event(), d.attempts())))
        .onFailure(e -> LOG.fine("events due not read: " + e.getMessage()));
  }

  private void purge() {
    store.purge(Instant.now().minus(options.settings().retention()))
        .onSuccess(n -> {
          if (n > 0) {
            LOG.fine(n + " events older than " + options.settings().retention() + " removed");
          }
        })
        .onFailure(e -> LOG.fine("events not purged: " + e.getMessage()));
  }

  private void list(Message<JsonObject> message) {
    JsonObject q = message.body() == null ? new JsonObject() : message.body();
    int limit = DEFAULT_LIMIT;
    Object given = q.getValue("limit");
    if (given != null) {
      try {
        limit = Integer.parseInt(String.valueOf(given).trim());
      } catch (NumberFormatException e) {
        limit = -1;
      }
      if (limit < 1 || limit > MAX_LIMIT) {
        Failure.reply(message, Failure.badRequest("invalid_limit", "limit must be a whole number from 1 to " + MAX_LIMIT));
        return;
      }
    }
    EventStore.Query query = new EventStore.Query(blankless(q.getValue("type")), blankless(q.getValue("platform")), limit,
        blankless(q.getValue("cursor")));
    Future<EventStore.Page> page;
    try {
      page = store.list(query);
    } catch (Failure f) {
      page = Future.failedFuture(f);
    }
    page.onSuccess(p -> message.reply(new JsonObject().put("data", new io.vertx.core.json.JsonArray(p.data()))
            .put("next_cursor", p.nextCursor())))
        .onFailure(e -> Failure.reply(message, e));
  }

  private static String blankless(Object v) {
    return v instanceof String s && !s.isBlank() ? s.trim() : null;
  }

  private void health(Message<Void> message) {
    store.ping().timeout(HEALTH_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).onComplete(ar -> {
      JsonObject entry = new JsonObject().put("required", true).put("status", ar.succeeded() ? "up" : "down")
          .put("store", distributed() ? "redis" : "embedded");
      if (ar.failed()) {
        entry.put("error", String.valueOf(ar.cause().getMessage()));
      }
      message.reply(new Health(new JsonObject().put("events", entry)));
    });
  }
}
