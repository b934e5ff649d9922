package dev.switchboard.audit;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.Failure;
import dev.switchboard.bus.Health;
import dev.switchboard.observe.Metrics;
import dev.switchboard.store.SeqCursor;
import io.micrometer.core.instrument.Counter;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The audit log's one writer in this process. Events arrive on {@link Addresses#AUDIT_RECORD}
 * (fire-and-forget, {@link Audit#record}), are gathered for a moment and appended as one batch,
 * one batch at a time, so no caller ever waits for the store. When the store cannot take a batch
 * it goes to the {@link AuditSpool} on disk, and so does everything after it until the spool has
 * been drained into the store, in order: no record is dropped, and the chain keeps arrival order.
 * While events wait there, /readyz says {@code audit: degraded} with their number (readiness is
 * not withdrawn: serving goes on and is still recorded) and {@code switchboard_audit_spooled} counts them.
 */
public final class AuditVerticle extends VerticleBase {

  private static final Logger LOG = Logger.getLogger(AuditVerticle.class.getName());
  /** Events gathered before a batch is appended at once. */
  static final int BATCH = 256;
  /** How long an event waits for others before its batch is appended anyway. */
  static final long LINGER_MS = 20;
  /** How often a spool is offered to the store again. */
  static final long DRAIN_EVERY_MS = 1_000;
  /** Events taken from the spool per append. */
  static final int DRAIN_BATCH = 2_000;
  /** Events kept in memory when neither the store nor the spool can take them; beyond, they are dropped, loudly. */
  static final int MAX_HELD = 100_000;
  static final int DEFAULT_LIMIT = 100;
  static final int MAX_LIMIT = 1_000;

  private final AuditSettings settings;
  private final Path dataDir;
  private final Function<io.vertx.core.Vertx, AuditLog> opener;
  private final String kind;
  private AuditLog store;
  private AuditSpool spool;
  private WorkerExecutor spoolWorker;
  private List<AuditEvent> pending = new ArrayList<>();
  private long lingerTimer = -1;
  private long drainTimer = -1;
  /** A batch or a drain is under way: they take turns, so the chain keeps arrival order. */
  private boolean busy;
  private volatile long spooled;
  private String storeError;
  private Counter appended;

  /** The store of the profile: the file in the data dir (embedded) or PostgreSQL (distributed). */
  public AuditVerticle(AuditSettings settings, String profile, Path dataDir, String postgresUrl) {
    this(settings, dataDir, "distributed".equals(profile) ? "postgresql" : "file",
        "distributed".equals(profile) ? v -> new PgAuditLog(v, postgresUrl) : v -> new EmbeddedAuditLog(v, dataDir));
  }

  AuditVerticle(AuditSettings settings, Path dataDir, String kind, Function<io.vertx.core.Vertx, AuditLog> opener) {
    this.settings = settings;
    this.dataDir = dataDir;
    this.kind = kind;
    this.opener = opener;
  }

  /** The store that the profile in {@code settings} uses, for the verify command. */
  public static AuditLog store(io.vertx.core.Vertx vertx, String profile, Path dataDir, String postgresUrl) {
    return "distributed".equals(profile) ? new PgAuditLog(vertx, postgresUrl) : new EmbeddedAuditLog(vertx, dataDir);
  }

  @Override
  public Future<?> start() {
    vertx.sharedData().getLocalMap(Audit.SHARED).put(Audit.INCLUDE_BODIES, settings.includeBodies());
    Metrics metrics = Metrics.current();
    appended = Counter.builder("switchboard.audit.records").description("Audit records appended to the audit store")
        .register(metrics.registry());
    metrics.gauge("switchboard.audit.spooled", "Audit events waiting in the local spool for the audit store",
        this, a -> a.spooled);
    var bus = vertx.eventBus();
    List<Future<?>> consumers = new ArrayList<>(List.of(
        bus.<AuditEvent>localConsumer(Addresses.AUDIT_RECORD, this::record).completion(),
        bus.<JsonObject>localConsumer(Addresses.AUDIT_QUERY, this::query).completion(),
        bus.<Void>localConsumer(Addresses.AUDIT_HEALTH, this::health).completion()));
    if (!settings.enabled()) {
      return Future.all(consumers);
    }
    store = opener.apply(vertx);
    spool = new AuditSpool(dataDir);
    spoolWorker = vertx.createSharedWorkerExecutor("switchboard-audit-spool", 1);
    // a spool left by the previous run goes first
    return Future.all(consumers)
        .compose(v -> spoolWorker.executeBlocking(spool::size, true))
        .onSuccess(n -> {
          spooled = n;
          if (n > 0) {
            LOG.warning("audit: " + n + " events wait in " + dataDir.resolve(AuditSpool.FILE) + " from before; draining them first");
          }
          drainTimer = vertx.setPeriodic(DRAIN_EVERY_MS, id -> drain());
        });
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(drainTimer);
    vertx.cancelTimer(lingerTimer);
    if (store == null) {
      return Future.succeededFuture();
    }
    Promise<Void> flushed = Promise.promise();
    whenIdle(() -> {
      if (pending.isEmpty()) {
        flushed.complete();
        return;
      }
      flush().onComplete(ar -> flushed.complete());
    });
    return flushed.future()
        .compose(v -> store.close().recover(e -> Future.succeededFuture()))
        .eventually(() -> spoolWorker.close());
  }

  private void whenIdle(Runnable then) {
    if (!busy) {
      then.run();
    } else {
      vertx.setTimer(10, id -> whenIdle(then));
    }
  }

  private void record(Message<AuditEvent> message) {
    if (store == null) {
      return;
    }
    AuditEvent event = settings.includeBodies() ? message.body() : message.body().withoutBody();
    if (pending.size() >= MAX_HELD) {
      LOG.severe("audit: neither the store nor the spool takes events (" + storeError + "); dropped " + event.action()
          + " by '" + event.subject() + "' at " + Instant.ofEpochMilli(event.time()));
      return;
    }
    pending.add(event);
    if (pending.size() >= BATCH) {
      flushSoon(0);
    } else if (lingerTimer < 0) {
      flushSoon(LINGER_MS);
    }
  }

  private void flushSoon(long delay) {
    if (busy) {
      return; // the running batch or drain flushes what gathered when it ends
    }
    if (lingerTimer >= 0) {
      vertx.cancelTimer(lingerTimer);
    }
    lingerTimer = delay == 0 ? -1 : vertx.setTimer(delay, id -> {
      lingerTimer = -1;
      flush();
    });
    if (delay == 0) {
      flush();
    }
  }

  /** Appends what gathered: to the store, or to the spool while the spool is not empty or the store fails. */
  private Future<Void> flush() {
    if (busy || pending.isEmpty()) {
      return Future.succeededFuture();
    }
    busy = true;
    List<AuditEvent> batch = pending;
    pending = new ArrayList<>();
    Future<Void> done = spooled > 0
        ? toSpool(batch)
        : store.append(batch).<Void>map(records -> {
          appended.increment(records.size());
          up();
          return null;
        }).recover(e -> {
          down(e);
          return toSpool(batch);
        });
    return done.onComplete(ar -> idle());
  }

  private Future<Void> toSpool(List<AuditEvent> batch) {
    return spoolWorker.executeBlocking(() -> {
      spool.append(batch);
      return spool.size();
    }, true).<Void>map(n -> {
      spooled = n;
      return null;
    }).recover(e -> {
      // the disk refuses too: held here (in order, in front of newer ones) until one of them takes them
      LOG.log(Level.SEVERE, "audit: the spool " + dataDir.resolve(AuditSpool.FILE) + " cannot be written either; "
          + batch.size() + " events held in memory", e);
      List<AuditEvent> held = new ArrayList<>(batch);
      held.addAll(pending);
      pending = held;
      return Future.succeededFuture();
    });
  }

  private void idle() {
    busy = false;
    if (pending.size() >= BATCH || (!pending.isEmpty() && lingerTimer < 0)) {
      flushSoon(pending.size() >= BATCH ? 0 : LINGER_MS);
    }
  }

  /** Offers the spool's first events to the store; once it is empty, batches go to the store again. */
  private void drain() {
    if (busy || spooled == 0) {
      return;
    }
    busy = true;
    spoolWorker.executeBlocking(() -> spool.read(DRAIN_BATCH), true)
        .compose(events -> store.append(events).compose(records -> {
          appended.increment(records.size());
          return spoolWorker.executeBlocking(() -> {
            spool.removeFirst(events.size());
            return spool.size();
          }, true);
        }))
        .onSuccess(n -> {
          spooled = n;
          if (n == 0) {
            up();
            LOG.info("audit: the spool is drained into the " + kind + " store");
          }
        })
        .onFailure(this::down)
        .onComplete(ar -> {
          idle();
          if (ar.succeeded() && spooled > 0) {
            vertx.runOnContext(v -> drain());
          }
        });
  }

  private void down(Throwable e) {
    String error = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    if (storeError == null) {
      LOG.warning("audit: the " + kind + " store does not take records (" + error + "); keeping them in "
          + dataDir.resolve(AuditSpool.FILE) + " until it does");
    }
    storeError = error;
  }

  private void up() {
    if (storeError != null && spooled == 0) {
      LOG.info("audit: the " + kind + " store takes records again");
      storeError = null;
    }
  }

  private void health(Message<Void> message) {
    JsonObject entry = new JsonObject().put("required", false).put("store", kind);
    if (store == null) {
      entry.put("status", "off");
    } else {
      entry.put("status", storeError == null && spooled == 0 ? "up" : "degraded").put("spooled", spooled);
      if (storeError != null) {
        entry.put("error", storeError);
      }
    }
    message.reply(new Health(new JsonObject().put("audit", entry)));
  }

  /** JSON {subject, action, since, limit, cursor} as the query string gave them → JSON {data, next_cursor}. */
  private void query(Message<JsonObject> message) {
    if (store == null) {
      Failure.reply(message, Failure.notFound("audit_off", "the audit log is off (audit.enabled: false in switchboard.yaml)"));
      return;
    }
    AuditLog.Query q;
    try {
      q = parse(message.body());
    } catch (Failure f) {
      Failure.reply(message, f);
      return;
    }
    store.query(q)
        .onSuccess(page -> {
          JsonArray data = new JsonArray();
          page.data().forEach(r -> data.add(r.toJson()));
          message.reply(new JsonObject().put("data", data)
              .put("next_cursor", page.next() == 0 ? null : SeqCursor.AUDIT.encode(page.next())));
        })
        .onFailure(e -> Failure.reply(message, e instanceof Failure ? e
            : Failure.unavailable("audit_unavailable", "the audit store cannot be read: " + e.getMessage())));
  }

  static AuditLog.Query parse(JsonObject q) {
    String limitText = q.getString("limit");
    int limit = DEFAULT_LIMIT;
    if (limitText != null) {
      try {
        limit = Integer.parseInt(limitText);
      } catch (NumberFormatException e) {
        limit = -1;
      }
      if (limit < 1 || limit > MAX_LIMIT) {
        throw Failure.badRequest("invalid_limit", "'limit' must be a whole number from 1 to " + MAX_LIMIT);
      }
    }
    long since = 0;
    String sinceText = q.getString("since");
    if (sinceText != null && !sinceText.isEmpty()) {
      try {
        since = OffsetDateTime.parse(sinceText).toInstant().toEpochMilli();
      } catch (DateTimeParseException e) {
        throw Failure.badRequest("invalid_since", "'since' must be an ISO-8601 time with an offset, such as 2026-12-01T09:00:00Z");
      }
    }
    return new AuditLog.Query(blankToNull(q.getString("subject")), blankToNull(q.getString("action")), since, limit,
        SeqCursor.AUDIT.decode(q.getString("cursor")));
  }

  private static String blankToNull(String s) {
    return s == null || s.isEmpty() ? null : s;
  }
}
