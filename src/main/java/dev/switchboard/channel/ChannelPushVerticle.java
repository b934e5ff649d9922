package dev.switchboard.channel;

import dev.switchboard.audit.Audit;
import dev.switchboard.audit.AuditEvent;
import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.Failure;
import dev.switchboard.bus.Health;
import dev.switchboard.bus.PushRequest;
import dev.switchboard.bus.TaskSubmission;
import dev.switchboard.memory.MemoryVerticle;
import dev.switchboard.observe.Metrics;
import dev.switchboard.store.EmbeddedStore;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * Pushes messages to platform bots. Every push is a delivery record, stored before the first
 * attempt and resumed after a restart, here or, in the distributed profile, by another instance.
 * Each bot has its own sending windows (platform limits by default), counted across instances in
 * the distributed profile; platform throttling and passing faults are retried with backoff until
 * their budget runs out ({@code dead}), permanent refusals end at once ({@code failed}); both can
 * be retried by hand.
 *
 * <p>An instance pushes a delivery only while it holds the delivery's lease ({@link Deliveries}):
 * it confirms the lease right before each attempt and bounds the attempt by what is left of it,
 * so that an instance whose lease ran out (it stalled, or lost Redis) has stopped sending before
 * another can take the delivery over. Leases are renewed while deliveries wait in line, given
 * back at a stop, and every instance takes over, now and then, pending deliveries whose lease
 * ran out.
 */
public final class ChannelPushVerticle extends VerticleBase {

  private static final Logger LOG = Logger.getLogger(ChannelPushVerticle.class.getName());
  static final Duration PUSH_TIMEOUT = Duration.ofSeconds(10);
  static final Duration BACKOFF_MAX = Duration.ofMinutes(5);
  static final int MAX_THROTTLES = 5;
  /** Longest one attempt may take, from its turn to the platform's whole answer (less when the lease is shorter). */
  static final Duration ATTEMPT_DEADLINE = Duration.ofSeconds(30);
  /** How long a stop waits for the pushes on the wire to be answered and recorded. */
  static final Duration STOP_GRACE = Duration.ofSeconds(10);
  /** How long a push waits before asking a store again that could not be asked. */
  static final long STORE_RETRY_MS = 1_000;
  /** Pending deliveries one take-over asks for; more are asked for at once when there were that many. */
  static final int TAKE_OVER_BATCH = 100;
  /** How often finished deliveries past their retention are removed. */
  static final Duration SWEEP_EVERY = Duration.ofMinutes(10);
  /** A readiness check waits this long for the store. */
  static final Duration HEALTH_TIMEOUT = Duration.ofSeconds(2);

  /** A delivery this instance works on: the fence it holds, and until when (local clock, from when it asked). */
  private static final class Lease {
    long fence;
    long expiresNanos;
    /** The store says another instance holds it now: the loop stops at its next step. */
    boolean lost;
    /** An attempt is on the wire: its lease is not given back at a stop. */
    boolean sending;

    Lease(long fence, long expiresNanos) {
      this.fence = fence;
      this.expiresNanos = expiresNanos;
    }
  }

  /** Replaced whole by a reload; a push under way keeps the bot it resolved. */
  private ChannelSettings settings;
  private final MemoryVerticle.Storage storage;
  private final String owner = "push-" + ProcessHandle.current().pid() + "-" + UUID.randomUUID().toString().substring(0, 8);
  private final Map<String, RateLimiter> limiters = new HashMap<>();
  /** Deliveries with a push loop running here, so that none runs twice. */
  private final Map<String, Lease> held = new HashMap<>();
  private long leaseNanos;
  private long leaseSafetyMs;
  /** Attempts between their turn and their recorded outcome. */
  private int onTheWire;
  private boolean stopping;
  private boolean takingOver;
  private Promise<Void> quiet;
  private Deliveries deliveries;
  private RateWindows windows;
  private HttpClient client;
  private TenantTokens tokens;
  private Metrics metrics;
  private long renewer = -1;
  private long taker = -1;
  private long sweeper = -1;

  public ChannelPushVerticle(ChannelSettings settings, MemoryVerticle.Storage storage) {
    this.settings = settings;
    this.storage = storage;
  }

  /** The embedded profile on {@code dataDir}. */
  public ChannelPushVerticle(ChannelSettings settings, Path dataDir) {
    this(settings, new MemoryVerticle.Storage("embedded", dataDir, null, null));
  }

  private boolean distributed() {
    return "distributed".equals(storage.profile());
  }

  @Override
  public Future<?> start() {
    metrics = Metrics.current();
    client = vertx.createHttpClient(new HttpClientOptions()
        .setConnectTimeout((int) PUSH_TIMEOUT.toMillis())
        .setKeepAlive(true), new PoolOptions().setHttp1MaxSize(32));
    tokens = new TenantTokens(client);
    StoreSettings store = settings.store();
    leaseNanos = store.lease().toNanos();
    leaseSafetyMs = Math.min(1_000, store.lease().toMillis() / 10);
    Future<Void> opened;
    if (distributed()) {
      // no connection is made here: a Redis that is not there yet makes pushes wait, not the start fail
      RedisState redis = new RedisState(vertx, storage.redisUrl(), store.keyPrefix(), "channel push");
      deliveries = new RedisDeliveries(redis, owner, store.lease(), store.retention());
      windows = new RedisWindows(redis);
      opened = deliveries.init();
    } else {
      windows = new LocalWindows();
      opened = EmbeddedStore.open(vertx, storage.dataDir()).compose(s -> {
        deliveries = new EmbeddedDeliveries(s, owner, store.lease(), store.retention());
        return deliveries.init();
      });
    }
    var bus = vertx.eventBus();
    return opened
        .compose(v -> Future.all(List.of(
            bus.<PushRequest>localConsumer(Addresses.CHANNEL_PUSH, this::push).completion(),
            bus.<TaskSubmission.Target>localConsumer(Addresses.CHANNEL_CHECK, this::check).completion(),
            bus.<JsonObject>localConsumer(Addresses.CHANNEL_DELIVERIES, this::list).completion(),
            bus.<String>localConsumer(Addresses.CHANNEL_TASK_DELIVERIES, this::ofTask).completion(),
            bus.<String>localConsumer(Addresses.CHANNEL_RETRY, this::retry).completion(),
            bus.<Void>localConsumer(Addresses.CHANNEL_HEALTH, this::health).completion(),
            bus.<ChannelSettings>localConsumer(Addresses.CHANNEL_RELOAD, this::reload).completion())))
        .onSuccess(v -> {
          long third = Math.max(100, store.lease().toMillis() / 3);
          renewer = vertx.setPeriodic(third, id -> renew());
          taker = vertx.setPeriodic(Math.min(5_000, third), id -> takeOver());
          sweeper = vertx.setPeriodic(SWEEP_EVERY.toMillis(), id -> deliveries.sweep()
              .onFailure(e -> LOG.warning("finished deliveries not swept: " + e.getMessage())));
          // embedded: everything left pending by the last run; distributed: what a dead instance left
          takeOver();
        });
  }

  /**
   * New bots (a reload): the next push resolves its bot in them. A bot's line of messages is kept
   * (those waiting keep their order); a changed rate limit applies to its next message, counting
   * what was sent in the window ({@link LocalWindows}).
   * The store ({@code store:}) is not swapped: it needs a restart.
   */
  private void reload(Message<ChannelSettings> message) {
    ChannelSettings before = settings;
    settings = message.body();
    // tokens are cached by bot name: one taken with an app's old credentials would go on speaking for the old app
    before.feishuApps().forEach((name, app) -> {
      if (!app.equals(settings.feishuApps().get(name))) {
        tokens.forget(app);
      }
    });
    before.dingtalkApps().forEach((name, app) -> {
      if (!app.equals(settings.dingtalkApps().get(name))) {
        tokens.forget(app);
      }
    });
    before.wecomApps().forEach((name, app) -> {
      if (!app.equals(settings.wecomApps().get(name))) {
        tokens.forget(app);
      }
    });
    message.reply(null);
  }

  @Override
  public Future<?> stop() {
    // a push cut off here may have reached the platform and would be sent again after the next
    // start: the ones on the wire are let finish (bounded), and no new one starts
    stopping = true;
    vertx.cancelTimer(renewer);
    vertx.cancelTimer(taker);
    vertx.cancelTimer(sweeper);
    Future<Void> drained = Future.succeededFuture();
    if (onTheWire > 0) {
      quiet = Promise.promise();
      drained = quiet.future().timeout(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS)
          .recover(e -> Future.succeededFuture());
    }
    return drained.compose(v -> handBack())
        .eventually(() -> client.close())
        .eventually(() -> deliveries == null ? Future.succeededFuture() : deliveries.close());
  }

  /** The leases of what waits here go back, so that another instance need not wait for them to run out. */
  private Future<Void> handBack() {
    Map<String, Long> fences = new HashMap<>();
    held.forEach((id, lease) -> {
      if (!lease.sending) {
        fences.put(id, lease.fence);
      }
    });
    held.clear();
    if (deliveries == null || fences.isEmpty()) {
      return Future.succeededFuture();
    }
    return deliveries.release(fences).timeout(HEALTH_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
        .recover(e -> {
          LOG.info(fences.size() + " pending deliveries not handed back (" + e.getMessage() + "): they are taken over once their lease runs out");
          return Future.succeededFuture();
        });
  }

  /** Extends the leases of every delivery that waits or is sent here; marks the ones another instance took. */
  private void renew() {
    if (held.isEmpty() || stopping) {
      return;
    }
    Map<String, Long> fences = new HashMap<>();
    held.forEach((id, lease) -> fences.put(id, lease.fence));
    long asked = System.nanoTime();
    deliveries.renew(fences).onSuccess(still -> fences.forEach((id, fence) -> {
      Lease lease = held.get(id);
      if (lease == null || lease.fence != fence) {
        return; // taken again meanwhile, with a new fence
      }
      if (still.contains(id)) {
        lease.expiresNanos = Math.max(lease.expiresNanos, asked + leaseNanos);
      } else {
        lease.lost = true;
      }
    }));
  }

  /** Pending deliveries nobody holds any more (their instance died or stopped), pushed from here. */
  private void takeOver() {
    if (takingOver || stopping) {
      return;
    }
    takingOver = true;
    long asked = System.nanoTime();
    deliveries.takeOver(TAKE_OVER_BATCH).onComplete(ar -> {
      takingOver = false;
      if (ar.failed()) {
        return; // the store says so to readiness; the next round asks again
      }
      List<Deliveries.Record> taken = ar.result();
      if (!taken.isEmpty()) {
        LOG.info("resuming " + taken.size() + " pending deliver" + (taken.size() == 1 ? "y" : "ies"));
      }
      taken.forEach(record -> run(record, asked));
      if (taken.size() == TAKE_OVER_BATCH) {
        takeOver();
      }
    });
  }

  /** The component's readiness: the delivery store (with the rate windows beside it) and the inbound claims. */
  private void health(Message<Void> message) {
    Future<Void> store = deliveries.ping().timeout(HEALTH_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    Future<Message<Health>> inbound = vertx.eventBus().request(Addresses.CHANNEL_INBOUND_HEALTH, null,
        new io.vertx.core.eventbus.DeliveryOptions().setSendTimeout(HEALTH_TIMEOUT.toMillis() + 500));
    Future.join(store, inbound).onComplete(ignored -> {
      JsonObject entry = new JsonObject().put("required", true).put("status", store.succeeded() ? "up" : "down")
          .put("store", distributed() ? "redis" : "embedded").put("in_progress", held.size());
      if (store.failed()) {
        entry.put("error", String.valueOf(store.cause().getMessage()));
      }
      JsonObject entries = new JsonObject().put("deliveries", entry);
      if (inbound.succeeded()) {
        entries.mergeIn(inbound.result().body().entries());
      } else {
        entries.put("claims", new JsonObject().put("required", true).put("status", "down")
            .put("error", String.valueOf(inbound.cause().getMessage())));
      }
      message.reply(new Health(entries));
    });
  }

  private void check(Message<TaskSubmission.Target> message) {
    TaskSubmission.Target target = message.body();
    var why = settings.unusable(target.type(), target.bot(), target.address())
        .or(() -> target.message() == null ? java.util.Optional.empty()
            : settings.target(target.type(), target.bot(), target.address()).map(b -> b.refuseNative(target.message())));
    if (why.isPresent()) {
      Failure.reply(message, Failure.badRequest("channel_unavailable", why.get()));
    } else {
      message.reply(null);
    }
  }

  /**
   * Records the push (once per task and bot), answers with the record, then pushes in the
   * background: here when this instance holds it, else where it is held already.
   */
  private void push(Message<PushRequest> message) {
    PushRequest req = message.body();
    long asked = System.nanoTime();
    deliveries.open(req.taskId(), req.channel(), req.bot(), req.text(), req.address(),
            req.message() == null ? null : render(req.message(), req.text()))
        .onSuccess(opened -> {
          if (opened.held()) {
            run(opened.record(), asked);
          }
          message.reply(opened.view());
        })
        .onFailure(e -> Failure.reply(message, unavailable(e)));
  }

  /** A store failure as the caller should see it: the store's own 503 (Redis, a full disk), or one that says which store. */
  private static Failure unavailable(Throwable e) {
    if (e instanceof Failure f && f.status() == 503) {
      return f;
    }
    return Failure.unavailable("store_unavailable", "the delivery store is unavailable: " + e.getMessage());
  }

  /** A native body with {@code {result}} replaced in every string, at any depth. */
  static JsonObject render(JsonObject template, String result) {
    JsonObject out = new JsonObject();
    template.forEach(e -> out.put(e.getKey(), renderValue(e.getValue(), result)));
    return out;
  }

  private static Object renderValue(Object value, String result) {
    if (value instanceof String s) {
      return s.replace("{result}", result);
    }
    if (value instanceof JsonObject o) {
      return render(o, result);
    }
    if (value instanceof io.vertx.core.json.JsonArray a) {
      io.vertx.core.json.JsonArray out = new io.vertx.core.json.JsonArray();
      a.forEach(v -> out.add(renderValue(v, result)));
      return out;
    }
    return value;
  }

  private void list(Message<JsonObject> message) {
    JsonObject q = message.body();
    deliveries.list(q.getString("status"), q.getString("channel"), q.getString("bot"),
            q.getLong("cursor", 0L), q.getInteger("limit", 100))
        .onSuccess(message::reply)
        .onFailure(e -> Failure.reply(message, e));
  }

  private void ofTask(Message<String> message) {
    deliveries.ofTask(message.body()).onSuccess(message::reply).onFailure(e -> Failure.reply(message, e));
  }

  private void retry(Message<String> message) {
    String id = message.body();
    long asked = System.nanoTime();
    deliveries.reopen(id)
        .compose(reopened -> {
          if (reopened.isPresent()) {
            run(reopened.get(), asked);
            return deliveries.view(id).map(v -> v.orElseThrow());
          }
          return deliveries.view(id).compose(v -> Future.failedFuture(v.isEmpty()
              ? Failure.notFound("delivery_not_found", "no delivery with id '" + id + "'")
              : new Failure(409, "invalid_request_error", "not_retryable",
                  "delivery '" + id + "' is " + v.get().getString("status") + "; only failed or dead deliveries can be retried")));
        })
        .onSuccess(message::reply)
        .onFailure(e -> Failure.reply(message, e));
  }

  /**
   * Sends so far; passing faults and throttle answers each have a budget of their own (per part).
   * {@code parts}: the messages the text goes out in ({@link Bot#parts}), {@code part} the one
   * being sent; the parts delivered are recorded with the delivery, so that a push resumed or
   * retried goes on after them instead of sending them again.
   */
  private static final class Tries {
    int sent;
    int failures;
    int throttles;
    List<String> parts = List.of();
    int part;

    boolean several() {
      return parts.size() > 1;
    }
  }

  /** The answer to record, with how far a push in parts has come. */
  private static JsonObject withParts(Tries tries, JsonObject response) {
    return !tries.several() ? response
        : (response == null ? new JsonObject() : response.copy()).put("parts", tries.parts.size()).put("parts_delivered", tries.part);
  }

  /**
   * Starts the push loop of a delivery this instance now holds ({@code asked}: when it asked for
   * it, which the lease counts from). One that has a loop here already carries on under the fence
   * it was given now.
   */
  private void run(Deliveries.Record record, long asked) {
    if (!Deliveries.PENDING.equals(record.status()) || stopping) {
      return;
    }
    Lease current = held.get(record.id());
    if (current != null) {
      if (current.fence != record.fence()) {
        current.fence = record.fence();
        current.lost = false;
      }
      current.expiresNanos = Math.max(current.expiresNanos, asked + leaseNanos);
      return;
    }
    Lease lease = new Lease(record.fence(), asked + leaseNanos);
    held.put(record.id(), lease);
    var bot = settings.target(record.channel(), record.bot(), record.address(), tokens).filter(b -> b.offReason() == null);
    if (bot.isEmpty()) {
      finish(record, lease, new Tries(), new JsonObject().put("error", settings.unusable(record.channel(), record.bot(), record.address())
          .orElse("bot unavailable")), Deliveries.FAILED);
      return;
    }
    // replies in conversations queue per conversation: one slow chat must not hold up the others
    String conversation = record.address() == null ? ""
        : "/" + record.address().getString("conversation_id", record.address().getString("chat_id",
            record.address().getString("chatid", record.address().getString("touser", record.address().getString("session_webhook", "")))));
    String line = record.channel() + "/" + record.bot() + conversation;
    RateWindows.Window window = windows.window(line, bot.get().rateLimits());
    RateLimiter limiter = limiters.computeIfAbsent(line, k -> new RateLimiter(vertx, window));
    // the line outlives a reload, so the messages waiting in it keep their order; its limits are the bot's of now
    limiter.countIn(window);
    Tries tries = new Tries();
    tries.sent = record.attempts();
    if (record.body() == null && record.message() != null) {
      tries.parts = bot.get().parts(record.message());
    }
    if (!tries.several() || record.attempts() == 0) {
      attempt(bot.get(), limiter, record, lease, tries, false);
      return;
    }
    partsDelivered(record, lease).onSuccess(done -> {
      tries.part = Math.min(done, tries.parts.size() - 1);
      attempt(bot.get(), limiter, record, lease, tries, false);
    });
  }

  /** How many parts of a delivery were delivered before (its last recorded answer says), asking again while the store cannot answer. */
  private Future<Integer> partsDelivered(Deliveries.Record record, Lease lease) {
    return deliveries.view(record.id())
        .map(v -> v.map(view -> view.getValue("response") instanceof JsonObject r && r.getValue("parts_delivered") instanceof Number n
            ? n.intValue() : 0).orElse(0))
        .recover(e -> {
          if (stopping || lease.lost) {
            return Future.failedFuture(e);
          }
          Promise<Integer> later = Promise.promise();
          vertx.setTimer(STORE_RETRY_MS, id -> partsDelivered(record, lease).onComplete(later));
          return later.future();
        });
  }

  /**
   * One try after waiting for the bot's windows; throttling and passing faults come back here
   * later. {@code head}: this message had its turn already and keeps its place at the head of the
   * line.
   *
   * <p>The send follows the turn at once, so that the windows count what the platform sees. That
   * this instance still holds the delivery is known from its lease's renewals: they keep it well
   * ahead of any attempt's deadline. Only when they have failed (the store is away) is the store
   * asked first, and nothing is sent while it cannot answer.
   */
  private void attempt(Bot bot, RateLimiter limiter, Deliveries.Record record, Lease lease, Tries tries, boolean head) {
    limiter.acquire(head).onSuccess(turn -> {
      if (stopping) {
        return; // stays pending: the next start (or another instance) resumes it
      }
      if (lease.lost) {
        lostHere(record, lease);
        limiter.release();
        return;
      }
      if (left(lease) >= Math.min(ATTEMPT_DEADLINE.toMillis(), leaseNanos / 2_000_000)) {
        send(bot, limiter, record, lease, tries);
        return;
      }
      long asked = System.nanoTime();
      deliveries.renew(Map.of(record.id(), lease.fence)).onComplete(confirmed -> {
        if (stopping) {
          return;
        }
        if (confirmed.succeeded() && !confirmed.result().contains(record.id())) {
          lease.lost = true;
          lostHere(record, lease);
          limiter.release();
          return;
        }
        if (confirmed.succeeded()) {
          lease.expiresNanos = asked + leaseNanos;
        }
        if (confirmed.failed() || left(lease) <= 0) {
          // the store cannot say whether this instance still holds the delivery, and sending
          // without knowing could race another instance: the line waits, this message first
          limiter.pauseFor(STORE_RETRY_MS, false);
          attempt(bot, limiter, record, lease, tries, true);
          limiter.release();
          return;
        }
        send(bot, limiter, record, lease, tries);
      });
    });
  }

  /** What is left of a lease for an attempt, in ms: its expiry less a margin for the clocks. */
  private long left(Lease lease) {
    return (lease.expiresNanos - System.nanoTime()) / 1_000_000 - leaseSafetyMs;
  }

  /** The attempt itself, within what is left of the lease, and what follows from its answer. */
  private void send(Bot bot, RateLimiter limiter, Deliveries.Record record, Lease lease, Tries tries) {
    lease.sending = true;
    onTheWire++;
    once(bot, record, tries, Math.min(ATTEMPT_DEADLINE.toMillis(), left(lease)))
        .map(answer -> bot.read(answer.status, answer.body))
        // scrubbed: Vert.x's timeout quotes the request's URI, and a robot's URL holds its key (access_token=, key=, /hook/...)
        .otherwise(e -> new Bot.Answer(Bot.Verdict.RETRY, new JsonObject().put("error",
            dev.switchboard.observe.Redaction.scrub(String.valueOf(e.getMessage())))))
        .compose(answer -> {
          lease.sending = false;
          try {
            return settle(bot, limiter, record, lease, tries, answer);
          } catch (RuntimeException e) {
            return finish(record, lease, tries, new JsonObject().put("error", String.valueOf(e.getMessage())), Deliveries.FAILED)
                .onComplete(v -> limiter.release());
          }
        })
        .onComplete(v -> {
          // the outcome is recorded by now (or given up on at a stop)
          if (--onTheWire == 0 && quiet != null) {
            quiet.tryComplete();
          }
        });
  }

  /** Another instance holds the delivery now: its push is theirs. */
  private void lostHere(Deliveries.Record record, Lease lease) {
    if (held.remove(record.id(), lease)) {
      LOG.info("delivery " + record.id() + " is pushed by another instance now");
    }
  }

  /**
   * One request, from the bot's turn to the platform's whole answer, within {@code deadlineMs}.
   * The deadline starts with the turn, not before: a message waiting behind a rate limit has not
   * been sent, and timing it out there used to start a second attempt while the first one still
   * waited for its turn, and then both went out. A request past its deadline is reset, so that a
   * late answer cannot complete it and it is not still being sent while its retry goes out, here
   * or (once the lease has run out) from another instance.
   */
  private Future<Reply> once(Bot bot, Deliveries.Record record, Tries tries, long deadlineMs) {
    Promise<Reply> outcome = Promise.promise();
    HttpClientRequest[] sending = new HttpClientRequest[1];
    long timer = vertx.setTimer(Math.max(1, deadlineMs), id -> {
      if (outcome.tryFail("no whole answer within " + deadlineMs + " ms") && sending[0] != null) {
        sending[0].reset();
      }
    });
    bot.authHeaders()
        .compose(auth -> {
          if (outcome.future().isComplete()) {
            return Future.failedFuture("past the deadline before sending");
          }
          tries.sent++;
          long now = System.currentTimeMillis();
          // each part is its own message: an idempotency key (Feishu's uuid) per part, the first one's as before
          Bot.Request request = record.body() != null ? bot.nativeRequest(record.body(), record.id(), now)
              : !tries.several() ? bot.request(record.message(), record.id(), now)
              : bot.request(tries.parts.get(tries.part), tries.part == 0 ? record.id() : record.id() + "-" + (tries.part + 1), now);
          return send(bot.authorize(request, auth), r -> {
            sending[0] = r;
            if (outcome.future().isComplete()) {
              r.reset();
            }
          });
        })
        .onComplete(ar -> {
          vertx.cancelTimer(timer);
          if (ar.succeeded()) {
            outcome.tryComplete(ar.result());
          } else {
            outcome.tryFail(ar.cause());
          }
        });
    return outcome.future();
  }

  /**
   * Acts on the answer, then gives the bot's turn back; completes once the outcome is recorded. A
   * message to try again waits at the head of the line while everything behind it waits too:
   * later messages never overtake it. An outcome is recorded before the turn goes to the next
   * message, so that at most one push per bot is ever sent or answered but unrecorded: what a
   * crash can repeat is that one, nothing else.
   */
  private Future<Void> settle(Bot bot, RateLimiter limiter, Deliveries.Record record, Lease lease, Tries tries, Bot.Answer answer) {
    switch (answer.verdict()) {
      case DELIVERED -> {
        if (tries.several() && tries.part + 1 < tries.parts.size()) {
          tries.part++;
          tries.failures = 0;
          tries.throttles = 0;
          // the part is recorded as delivered before the next goes, which keeps the head of the line
          Promise<Void> recorded = Promise.promise();
          progress(record, lease, tries, answer.response(), recorded);
          return recorded.future().onComplete(v -> {
            if (lease.lost) {
              lostHere(record, lease);
            } else if (!stopping) {
              attempt(bot, limiter, record, lease, tries, true);
            }
            limiter.release();
          });
        }
        return finish(record, lease, tries, answer.response(), Deliveries.DELIVERED).onComplete(v -> limiter.release());
      }
      case FAILED -> {
        return finish(record, lease, tries, answer.response(), Deliveries.FAILED).onComplete(v -> limiter.release());
      }
      case THROTTLED -> {
        if (++tries.throttles > MAX_THROTTLES) {
          return finish(record, lease, tries, answer.response(), Deliveries.DEAD).onComplete(v -> limiter.release());
        }
        // the platform holds the whole bot, for every instance: everything queued for it waits, this message first
        again(bot, limiter, record, lease, tries, answer, Math.max(bot.throttlePause().toMillis(), backoff(bot, tries.throttles)), true);
        return Future.succeededFuture();
      }
      default -> {
        if (++tries.failures >= bot.retry().maxAttempts()) {
          return finish(record, lease, tries, answer.response(), Deliveries.DEAD).onComplete(v -> limiter.release());
        }
        again(bot, limiter, record, lease, tries, answer, backoff(bot, tries.failures), false);
        return Future.succeededFuture();
      }
    }
  }

  private void again(Bot bot, RateLimiter limiter, Deliveries.Record record, Lease lease, Tries tries, Bot.Answer answer,
                     long waitMs, boolean throttled) {
    limiter.pauseFor(waitMs, throttled);
    attempt(bot, limiter, record, lease, tries, true); // takes the head of the line before the turn is given back
    limiter.release();
    deliveries.attempted(record.id(), lease.fence, tries.sent, withParts(tries, answer.response()), Deliveries.PENDING).onSuccess(written -> {
      if (!written) {
        lease.lost = true;
      }
    });
  }

  /** A part delivered, recorded on the pending delivery; tried again while the store cannot be written. */
  private void progress(Deliveries.Record record, Lease lease, Tries tries, JsonObject response, Promise<Void> recorded) {
    deliveries.attempted(record.id(), lease.fence, tries.sent, withParts(tries, response), Deliveries.PENDING).onComplete(ar -> {
      if (ar.succeeded() && !ar.result()) {
        lease.lost = true;
      }
      if (ar.succeeded() || stopping || lease.lost) {
        recorded.complete();
        return;
      }
      vertx.setTimer(STORE_RETRY_MS, id -> progress(record, lease, tries, response, recorded));
    });
  }

  /**
   * Records how the delivery ended, trying again while the store cannot be written (the bot's line
   * waits meanwhile: the outcome comes first); completes once it is recorded, or given up on.
   */
  private Future<Void> finish(Deliveries.Record record, Lease lease, Tries tries, JsonObject response, String status) {
    metrics.push(record.channel(), record.bot(), status);
    dev.switchboard.observe.EventLog.event("push").with("channel", record.channel()).with("bot", record.bot())
        .with("status", status).with("task_id", record.taskId()).with("attempts", tries.sent).log();
    Audit.record(vertx, AuditEvent.of("", "push." + status, record.id(), Deliveries.DELIVERED.equals(status) ? "ok" : "failed").detail("channel", record.channel()).detail("bot", record.bot()).detail("task", record.taskId()).size("attempts", tries.sent));
    if (Deliveries.FAILED.equals(status) || Deliveries.DEAD.equals(status)) {
      // an event for the rules (on: {delivery: failed|dead}); raised by the instance that ended it, once
      vertx.eventBus().publish(Addresses.EVENTS_RAISE, new JsonObject()
          .put("id", "delivery:" + record.id() + ":" + status + ":" + tries.sent).put("type", "delivery")
          .put("time", java.time.Instant.now().toString())
          .put("delivery", new JsonObject().put("id", record.id()).put("task_id", record.taskId()).put("channel", record.channel())
              .put("bot", record.bot()).put("status", status).put("attempts", tries.sent).put("response", response)));
    }
    Promise<Void> recorded = Promise.promise();
    if (Deliveries.DELIVERED.equals(status) && tries.several()) {
      tries.part = tries.parts.size();
    }
    record(record, lease, tries.sent, withParts(tries, response), status, recorded);
    return recorded.future();
  }

  private void record(Deliveries.Record record, Lease lease, int attempts, JsonObject response, String status, Promise<Void> recorded) {
    deliveries.attempted(record.id(), lease.fence, attempts, response, status).onComplete(ar -> {
      if (ar.succeeded() || stopping || lease.lost) {
        if (ar.failed()) {
          LOG.warning("delivery " + record.id() + " ended " + status + " but could not be recorded: " + ar.cause().getMessage());
        } else if (!ar.result()) {
          LOG.warning("delivery " + record.id() + " ended " + status + " here after another instance had taken it over");
        }
        held.remove(record.id(), lease);
        recorded.complete();
        return;
      }
      vertx.setTimer(STORE_RETRY_MS, id -> record(record, lease, attempts, response, status, recorded));
    });
  }

  /** Exponential with jitter: between half and all of base * 2^(n-1), at most five minutes. */
  private static long backoff(Bot bot, int n) {
    long cap = Math.min(BACKOFF_MAX.toMillis(), bot.retry().backoff().toMillis() << Math.min(20, n - 1));
    return Math.max(1, cap / 2 + ThreadLocalRandom.current().nextLong(cap / 2 + 1));
  }

  private record Reply(int status, String body) {
  }

  /** {@code started} sees the request as soon as it exists, so that a deadline can reset it. */
  private Future<Reply> send(Bot.Request request, java.util.function.Consumer<HttpClientRequest> started) {
    RequestOptions options = new RequestOptions()
        .setMethod(HttpMethod.POST)
        .setAbsoluteURI(request.url())
        // a redirect is the platform's answer (a failed push), never a second target: it would escape the outbound check
        .setFollowRedirects(false)
        .setConnectTimeout(PUSH_TIMEOUT.toMillis())
        .setIdleTimeout(PUSH_TIMEOUT.toMillis());
    request.headers().forEach(options::putHeader);
    return client.request(options)
        .compose(r -> {
          started.accept(r);
          return r.send(request.body());
        })
        .compose(resp -> Bodies.read(resp, Bodies.MAX_ANSWER_BYTES, "the platform's answer")
            .map(body -> new Reply(resp.statusCode(), body.toString())));
  }
}
