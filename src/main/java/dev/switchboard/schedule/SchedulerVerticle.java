package dev.switchboard.schedule;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.Failure;
import dev.switchboard.cluster.Cluster;
import dev.switchboard.cluster.Lease;
import dev.switchboard.observe.Metrics;
import dev.switchboard.store.EmbeddedStore;
import io.micrometer.core.instrument.Counter;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.logging.Logger;

/**
 * Fires the schedules: rules with a {@code schedule} trigger from rules.yaml (sent on
 * {@link Addresses#SCHEDULES_SYNC} by the rules engine) and those made through the API. Every
 * instance serves the API; only the leader fires. Before it fires it raises the store's fence to
 * its token, and each firing is recorded with that token in the step that moves next_fire, before
 * the rule is asked to run: a firing is sent at most once, even if the leader changes meanwhile.
 *
 * <p>The leader re-reads the store at least every second (schedules added on another instance
 * show up there) and sleeps no longer than to the next due firing. A firing more than
 * {@link #MISFIRE_GRACE} late (no instance ran, or none led) follows its misfire policy: skip
 * (counted as missed) or run once now; either way the next one is the next future time.
 */
public final class SchedulerVerticle extends VerticleBase {

  private static final Logger LOG = Logger.getLogger(SchedulerVerticle.class.getName());

  /** Later than this, a firing was missed rather than delayed (a leader change takes up to ~11 s). */
  static final Duration MISFIRE_GRACE = Duration.ofSeconds(60);
  private static final long MAX_SLEEP_MS = 1_000;
  private static final long FIRE_TIMEOUT_MS = 30_000;
  private static final long VALIDATE_TIMEOUT_MS = 10_000;
  /** Past this many distinct schedules, the metrics label the rest "other". */
  private static final int MAX_LABELS = 500;

  /** Where the schedules are kept: the profile's store, and (distributed) the Redis key prefix. */
  public record Options(String profile, Path dataDir, String redisUrl, String keyPrefix) {
  }

  private final Options options;
  private final Cluster cluster;
  private ScheduleStore store;
  private Metrics metrics;
  private final Set<String> labels = new HashSet<>();
  /** Schedules whose stored spec could not be read: logged once each. */
  private final Set<String> unreadable = new HashSet<>();
  private long timer = -1;
  private boolean stopped;
  /** The token this instance has raised the fence to; 0 when it has not (yet) for its current lead. */
  private long fenced;

  public SchedulerVerticle(Options options, Cluster cluster) {
    this.options = options;
    this.cluster = cluster;
  }

  @Override
  public Future<?> start() {
    metrics = Metrics.current();
    Future<ScheduleStore> opened = "distributed".equals(options.profile())
        ? Future.succeededFuture(new RedisScheduleStore(vertx, options.redisUrl(), options.keyPrefix()))
        : EmbeddedStore.open(vertx, options.dataDir()).map(EmbeddedScheduleStore::new);
    return opened.compose(s -> {
      store = s;
      return store.init();
    }).compose(v -> {
      var bus = vertx.eventBus();
      return Future.all(
          bus.<JsonObject>localConsumer(Addresses.SCHEDULES_SYNC, this::sync).completion(),
          bus.<Void>localConsumer(Addresses.SCHEDULES_LIST, this::list).completion(),
          bus.<JsonObject>localConsumer(Addresses.SCHEDULES_ADD, this::add).completion(),
          bus.<String>localConsumer(Addresses.SCHEDULES_DELETE, this::delete).completion());
    }).onSuccess(v -> arm(0));
  }

  @Override
  public Future<?> stop() {
    stopped = true;
    vertx.cancelTimer(timer);
    return store == null ? Future.succeededFuture() : store.close();
  }

  private void arm(long ms) {
    if (!stopped) {
      timer = vertx.setTimer(Math.max(1, ms), t -> round());
    }
  }

  /** One look at the schedules: fires what is due if this instance leads, then sleeps until the next. */
  private void round() {
    Lease lease = cluster.leadership().lease();
    if (!lease.leader()) {
      fenced = 0;
      arm(MAX_SLEEP_MS);
      return;
    }
    Future<Boolean> fence = fenced == lease.token() ? Future.succeededFuture(true) : store.fence(lease.token());
    fence.compose(ours -> {
      if (!ours) {
        LOG.info("a leader newer than this instance's token " + lease.token() + " has fired schedules: not firing");
        return Future.succeededFuture(MAX_SLEEP_MS);
      }
      fenced = lease.token();
      return store.list().compose(entries -> fireDue(entries, lease));
    }).onComplete(ar -> {
      if (ar.failed()) {
        LOG.fine("schedules not looked at: " + ar.cause().getMessage());
      }
      arm(ar.succeeded() ? ar.result() : MAX_SLEEP_MS);
    });
  }

  /** Fires the due entries one after another; the result is how long to sleep. */
  private Future<Long> fireDue(List<ScheduleEntry> entries, Lease lease) {
    Instant now = Instant.now();
    long sleep = MAX_SLEEP_MS;
    Future<Void> chain = Future.succeededFuture();
    for (ScheduleEntry e : entries) {
      note(e.rule());
      Schedule s = readable(e);
      if (s == null || e.nextFire() == null) {
        continue;
      }
      Instant due = e.nextFire().plus(s.jitterFor(e.rule(), e.nextFire()));
      long wait = due.toEpochMilli() - now.toEpochMilli();
      if (wait > 0) {
        sleep = Math.min(sleep, wait);
        continue;
      }
      chain = chain.compose(v -> fire(e, s, due, lease)).recover(err -> {
        LOG.warning("schedule '" + e.rule() + "' not fired: " + err.getMessage());
        return Future.succeededFuture();
      });
    }
    long slept = sleep;
    // what was fired now may be due again soon: look again at once
    return chain.map(v -> slept);
  }

  private Future<Void> fire(ScheduleEntry e, Schedule s, Instant due, Lease lease) {
    if (cluster.leadership().lease().token() != lease.token() || !cluster.leadership().lease().leader()) {
      return Future.succeededFuture();
    }
    Instant now = Instant.now();
    boolean late = Duration.between(due, now).compareTo(MISFIRE_GRACE) > 0;
    if (late && s.misfire() == Schedule.Misfire.SKIP) {
      Instant next = s.next(now).orElse(null);
      return store.record(e.rule(), e.nextFire(), null, next, lease.token()).map(moved -> {
        if (moved) {
          counter("switchboard.schedule.missed", "Schedule firings skipped after downtime (misfire: skip)", e.rule()).increment();
          LOG.info("schedule '" + e.rule() + "' missed its firing of " + e.nextFire() + " (misfire: skip); next " + next);
        }
        return null;
      });
    }
    Instant next = (late ? s.next(now) : s.next(e.nextFire())).orElse(null);
    if (next != null && !next.isAfter(now)) {
      next = s.next(now).orElse(null);
    }
    Instant nextFire = next;
    return store.record(e.rule(), e.nextFire(), now, nextFire, lease.token()).map(moved -> {
      if (moved) {
        send(e, now);
      }
      return null;
    });
  }

  /** Asks the rules to run; the firing is recorded already, so an answer that does not come is a failure to count, not to repeat. */
  private void send(ScheduleEntry e, Instant now) {
    JsonObject event = new JsonObject()
        .put("id", "schedule:" + e.rule() + ":" + e.nextFire())
        .put("type", "schedule")
        .put("time", now.toString())
        .put("rule", e.rule())
        .put("fire_time", e.nextFire().toString());
    JsonObject body = new JsonObject().put("rule", e.rule()).put("definition", e.definition()).put("event", event);
    counter("switchboard.schedule.fired", "Schedule firings sent to the rules", e.rule()).increment();
    vertx.eventBus().request(Addresses.RULES_FIRE, body, new DeliveryOptions().setSendTimeout(FIRE_TIMEOUT_MS))
        .onFailure(err -> {
          counter("switchboard.schedule.failed", "Schedule firings the rules did not take", e.rule()).increment();
          LOG.warning("schedule '" + e.rule() + "' fired (" + e.nextFire() + ") but the rules did not take it: "
              + Failure.from(err).getMessage());
        });
  }

  private Schedule readable(ScheduleEntry e) {
    try {
      Schedule s = Schedule.from(e.spec());
      unreadable.remove(e.rule());
      return s;
    } catch (Schedule.Invalid bad) {
      if (unreadable.add(e.rule())) {
        LOG.warning("schedule '" + e.rule() + "' is not fired: " + bad.getMessage());
      }
      return null;
    }
  }

  private void note(String rule) {
    if (labels.size() < MAX_LABELS) {
      labels.add(rule);
    }
  }

  /** Labelled by the schedule's name only for schedules that exist, so a client cannot make series without bound. */
  private Counter counter(String name, String description, String rule) {
    String label = labels.contains(rule) ? rule : "other";
    return Counter.builder(name).description(description).tag("schedule", label).register(metrics.registry());
  }

  private void sync(Message<JsonObject> message) {
    JsonArray rules = message.body() == null ? new JsonArray() : message.body().getJsonArray("rules", new JsonArray());
    Instant now = Instant.now();
    List<ScheduleEntry> entries = new ArrayList<>();
    for (Object o : rules) {
      if (!(o instanceof JsonObject r) || r.getString("rule") == null) {
        continue;
      }
      String rule = r.getString("rule");
      try {
        JsonObject spec = Schedule.canonical(r.getJsonObject("schedule", new JsonObject()));
        Schedule s = Schedule.from(spec);
        Instant next = s.next(now).orElse(null);
        if (next == null) {
          LOG.warning("schedule '" + rule + "' of rules.yaml has no firing left (an 'at' in the past?)");
        }
        entries.add(new ScheduleEntry(rule, spec, ScheduleEntry.FILE, null, next, null, 0));
        note(rule);
      } catch (Schedule.Invalid | ClassCastException bad) {
        LOG.warning("schedule '" + rule + "' of rules.yaml is ignored: " + bad.getMessage());
      }
    }
    store.syncFile(entries).onComplete(ar -> {
      if (ar.failed()) {
        LOG.warning("the schedules of rules.yaml were not stored: " + ar.cause().getMessage());
        Failure.reply(message, ar.cause());
        return;
      }
      for (String taken : ar.result()) {
        LOG.warning("schedule '" + taken + "' of rules.yaml is ignored: a schedule made through the API has that name");
      }
      message.reply(new JsonObject().put("schedules", entries.size()).put("ignored", new JsonArray(ar.result())));
    });
  }

  private void list(Message<Void> message) {
    store.list().onSuccess(entries -> {
      JsonArray data = new JsonArray();
      entries.forEach(e -> data.add(e.toJson()));
      message.reply(new JsonObject().put("data", data));
    }).onFailure(e -> Failure.reply(message, e));
  }

  private void add(Message<JsonObject> message) {
    JsonObject rule = message.body();
    Schedule s;
    JsonObject spec;
    String name;
    try {
      name = rule == null ? null : rule.getValue("name") instanceof String n && !n.isBlank() ? n : null;
      if (name == null) {
        throw Failure.badRequest("invalid_rule", "a schedule is a rule: it needs a 'name'");
      }
      Object on = rule.getValue("on");
      if (!(on instanceof JsonObject trigger) || !(trigger.getValue("schedule") instanceof JsonObject given)) {
        throw Failure.badRequest("invalid_rule", "rule '" + name + "': its trigger must be a schedule ('on': {'schedule': {...}})");
      }
      spec = Schedule.canonical(given);
      s = Schedule.from(spec);
    } catch (Schedule.Invalid bad) {
      Failure.reply(message, Failure.badRequest("invalid_schedule", "rule '" + rule.getValue("name") + "': " + bad.getMessage()));
      return;
    } catch (Failure f) {
      Failure.reply(message, f);
      return;
    }
    Instant next = s.next(Instant.now()).orElse(null);
    if (next == null) {
      Failure.reply(message, Failure.badRequest("invalid_schedule", "rule '" + name + "': it would never fire (its 'at' has passed)"));
      return;
    }
    validate(rule)
        .compose(v -> store.add(new ScheduleEntry(name, spec, ScheduleEntry.API, rule, next, null, 0)))
        .onSuccess(added -> {
          if (!added) {
            Failure.reply(message, new Failure(409, "invalid_request_error", "schedule_exists",
                "a schedule named '" + name + "' exists: delete it first, or choose another name"));
            return;
          }
          note(name);
          message.reply(new ScheduleEntry(name, spec, ScheduleEntry.API, rule, next, null, 0).toJson());
        })
        .onFailure(e -> Failure.reply(message, e));
  }

  /** The rules engine checks the whole rule; without one deployed, the schedule checked here is all there is to check. */
  private Future<Void> validate(JsonObject rule) {
    return vertx.eventBus().request(Addresses.RULES_VALIDATE, rule, new DeliveryOptions().setSendTimeout(VALIDATE_TIMEOUT_MS))
        .<Void>mapEmpty()
        .recover(e -> e instanceof ReplyException re && re.failureType() == ReplyFailure.NO_HANDLERS
            ? Future.succeededFuture()
            : Future.failedFuture(Failure.from(e)));
  }

  private void delete(Message<String> message) {
    String rule = message.body();
    store.get(rule).compose(e -> {
      if (e == null) {
        return Future.failedFuture(Failure.notFound("schedule_not_found", "no schedule named '" + rule + "'"));
      }
      if (!ScheduleEntry.API.equals(e.source())) {
        return Future.failedFuture(new Failure(409, "invalid_request_error", "schedule_in_file",
            "schedule '" + rule + "' comes from rules.yaml: edit the file to change or remove it"));
      }
      return store.delete(rule, ScheduleEntry.API).compose(gone -> gone
          ? Future.<Void>succeededFuture()
          : Future.failedFuture(Failure.notFound("schedule_not_found", "no schedule named '" + rule + "'")));
    }).onSuccess(v -> message.reply(null)).onFailure(e -> Failure.reply(message, e));
  }
}
