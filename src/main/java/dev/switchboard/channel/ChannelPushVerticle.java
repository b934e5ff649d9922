package dev.switchboard.channel;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.Failure;
import dev.switchboard.bus.PushRequest;
import dev.switchboard.bus.TaskSubmission;
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
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.logging.Logger;

/**
 * Pushes messages to platform bots. Every push is a delivery record, stored before the first
 * attempt and resumed after a restart. Each bot has its own sending windows (platform limits by
 * default); platform throttling and passing faults are retried with backoff until their budget
 * runs out ({@code dead}), permanent refusals end at once ({@code failed}); both can be retried
 * by hand.
 */
public final class ChannelPushVerticle extends VerticleBase {

  private static final Logger LOG = Logger.getLogger(ChannelPushVerticle.class.getName());
  static final Duration PUSH_TIMEOUT = Duration.ofSeconds(10);
  static final Duration BACKOFF_MAX = Duration.ofMinutes(5);
  static final int MAX_THROTTLES = 5;
  /** Longest one attempt may take, from its turn to the platform's whole answer. */
  static final Duration ATTEMPT_DEADLINE = Duration.ofSeconds(30);
  /** How long a stop waits for the pushes on the wire to be answered and recorded. */
  static final Duration STOP_GRACE = Duration.ofSeconds(10);

  private final ChannelSettings settings;
  private final Path dataDir;
  private final Map<String, RateLimiter> limiters = new HashMap<>();
  /** Deliveries with a push loop running, so that none runs twice. */
  private final Set<String> inFlight = new HashSet<>();
  /** Attempts between their turn and their recorded outcome. */
  private int onTheWire;
  private boolean stopping;
  private Promise<Void> quiet;
  private DeliveryStore deliveries;
  private HttpClient client;
  private TenantTokens tokens;
  private Metrics metrics;

  public ChannelPushVerticle(ChannelSettings settings, Path dataDir) {
    this.settings = settings;
    this.dataDir = dataDir;
  }

  @Override
  public Future<?> start() {
    metrics = Metrics.current();
    client = vertx.createHttpClient(new HttpClientOptions()
        .setConnectTimeout((int) PUSH_TIMEOUT.toMillis())
        .setKeepAlive(true), new PoolOptions().setHttp1MaxSize(32));
    tokens = new TenantTokens(client);
    var bus = vertx.eventBus();
    return EmbeddedStore.open(vertx, dataDir)
        .map(DeliveryStore::new)
        .compose(store -> {
          deliveries = store;
          return store.init();
        })
        .compose(v -> Future.all(
            bus.<PushRequest>localConsumer(Addresses.CHANNEL_PUSH, this::push).completion(),
            bus.<TaskSubmission.Target>localConsumer(Addresses.CHANNEL_CHECK, this::check).completion(),
            bus.<JsonObject>localConsumer(Addresses.CHANNEL_DELIVERIES, this::list).completion(),
            bus.<String>localConsumer(Addresses.CHANNEL_TASK_DELIVERIES, this::ofTask).completion(),
            bus.<String>localConsumer(Addresses.CHANNEL_RETRY, this::retry).completion()))
        .compose(v -> deliveries.pending())
        .onSuccess(pending -> {
          if (!pending.isEmpty()) {
            LOG.info("resuming " + pending.size() + " pending deliver" + (pending.size() == 1 ? "y" : "ies"));
          }
          pending.forEach(this::run);
        });
  }

  @Override
  public Future<?> stop() {
    // a push cut off here may have reached the platform and would be sent again after the next
    // start: the ones on the wire are let finish (bounded), and no new one starts
    stopping = true;
    Future<Void> drained = Future.succeededFuture();
    if (onTheWire > 0) {
      quiet = Promise.promise();
      drained = quiet.future().timeout(STOP_GRACE.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)
          .recover(e -> Future.succeededFuture());
    }
    return drained.eventually(() -> client.close()).eventually(() -> deliveries == null ? Future.succeededFuture() : deliveries.store().close());
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

  /** Records the push (once per task and bot), answers with the record, then pushes in the background. */
  private void push(Message<PushRequest> message) {
    PushRequest req = message.body();
    deliveries.open(req.taskId(), req.channel(), req.bot(), req.text(), req.address(),
            req.message() == null ? null : render(req.message(), req.text()))
        .compose(record -> {
          run(record);
          return deliveries.view(record.id());
        })
        .onSuccess(view -> message.reply(view.orElseThrow()))
        .onFailure(e -> Failure.reply(message, Failure.unavailable("store_unavailable",
            "the delivery store is unavailable: " + e.getMessage())));
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
    deliveries.reopen(id)
        .compose(reopened -> {
          if (reopened.isPresent()) {
            run(reopened.get());
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

  /** Sends so far; passing faults and throttle answers each have a budget of their own. */
  private static final class Tries {
    int sent;
    int failures;
    int throttles;
  }

  private void run(DeliveryStore.Record record) {
    if (!DeliveryStore.PENDING.equals(record.status()) || !inFlight.add(record.id())) {
      return;
    }
    var bot = settings.target(record.channel(), record.bot(), record.address(), tokens).filter(b -> b.offReason() == null);
    if (bot.isEmpty()) {
      finish(record, new Tries(), new JsonObject().put("error", settings.unusable(record.channel(), record.bot(), record.address())
          .orElse("bot unavailable")), DeliveryStore.FAILED);
      return;
    }
    // replies in conversations queue per conversation: one slow chat must not hold up the others
    String conversation = record.address() == null ? ""
        : "/" + record.address().getString("conversation_id", record.address().getString("chat_id", record.address().getString("session_webhook", "")));
    RateLimiter limiter = limiters.computeIfAbsent(record.channel() + "/" + record.bot() + conversation,
        k -> new RateLimiter(vertx, bot.get().rateLimits()));
    Tries tries = new Tries();
    tries.sent = record.attempts();
    attempt(bot.get(), limiter, record, tries);
  }

  /** One try after waiting for the bot's windows; throttling and passing faults come back here later. */
  private void attempt(Bot bot, RateLimiter limiter, DeliveryStore.Record record, Tries tries) {
    limiter.acquire(tries.failures + tries.throttles > 0).onSuccess(turn -> {
      if (stopping) {
        return; // stays pending: the next start resumes it
      }
      onTheWire++;
      once(bot, record, tries)
          .map(answer -> bot.read(answer.status, answer.body))
          .otherwise(e -> new Bot.Answer(Bot.Verdict.RETRY, new JsonObject().put("error", String.valueOf(e.getMessage()))))
          .onSuccess(answer -> {
            try {
              settle(bot, limiter, record, tries, answer);
            } catch (RuntimeException e) {
              finish(record, tries, new JsonObject().put("error", String.valueOf(e.getMessage())), DeliveryStore.FAILED)
                  .onComplete(v -> limiter.release());
            } finally {
              // the outcome's write is queued by now, ahead of the store's close
              if (--onTheWire == 0 && quiet != null) {
                quiet.tryComplete();
              }
            }
          });
    });
  }

  /**
   * One request, from the bot's turn to the platform's whole answer, within {@link #ATTEMPT_DEADLINE}.
   * The deadline starts with the turn, not before: a message waiting behind a rate limit has not
   * been sent, and timing it out there used to start a second attempt while the first one still
   * waited for its turn, and then both went out. A request past its deadline is reset, so that a
   * late answer cannot complete it and it is not still being sent while its retry goes out.
   */
  private Future<Reply> once(Bot bot, DeliveryStore.Record record, Tries tries) {
    Promise<Reply> outcome = Promise.promise();
    HttpClientRequest[] sending = new HttpClientRequest[1];
    long timer = vertx.setTimer(ATTEMPT_DEADLINE.toMillis(), id -> {
      if (outcome.tryFail("no whole answer within " + ATTEMPT_DEADLINE.toSeconds() + " s") && sending[0] != null) {
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
          Bot.Request request = record.body() != null ? bot.nativeRequest(record.body(), record.id(), now)
              : bot.request(record.message(), record.id(), now);
          Map<String, String> headers = new HashMap<>(request.headers());
          headers.putAll(auth);
          return send(new Bot.Request(request.url(), headers, request.body()), r -> {
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
   * Acts on the answer, then gives the bot's turn back. A message to try again waits at the head of
   * the line while everything behind it waits too: later messages never overtake it. An outcome is
   * recorded before the turn goes to the next message, so that at most one push per bot is ever
   * sent or answered but unrecorded: what a crash can repeat is that one, nothing else.
   */
  private void settle(Bot bot, RateLimiter limiter, DeliveryStore.Record record, Tries tries, Bot.Answer answer) {
    switch (answer.verdict()) {
      case DELIVERED -> finish(record, tries, answer.response(), DeliveryStore.DELIVERED).onComplete(v -> limiter.release());
      case FAILED -> finish(record, tries, answer.response(), DeliveryStore.FAILED).onComplete(v -> limiter.release());
      case THROTTLED -> {
        if (++tries.throttles > MAX_THROTTLES) {
          finish(record, tries, answer.response(), DeliveryStore.DEAD).onComplete(v -> limiter.release());
          return;
        }
        // the platform holds the whole bot: everything queued for it waits, this message first
        again(bot, limiter, record, tries, answer, Math.max(bot.throttlePause().toMillis(), backoff(bot, tries.throttles)));
      }
      default -> {
        if (++tries.failures >= bot.retry().maxAttempts()) {
          finish(record, tries, answer.response(), DeliveryStore.DEAD).onComplete(v -> limiter.release());
          return;
        }
        again(bot, limiter, record, tries, answer, backoff(bot, tries.failures));
      }
    }
  }

  private void again(Bot bot, RateLimiter limiter, DeliveryStore.Record record, Tries tries, Bot.Answer answer, long waitMs) {
    limiter.pauseFor(waitMs);
    attempt(bot, limiter, record, tries); // takes the head of the line before the turn is given back
    limiter.release();
    deliveries.attempted(record.id(), tries.sent, answer.response(), DeliveryStore.PENDING);
  }

  private Future<Void> finish(DeliveryStore.Record record, Tries tries, JsonObject response, String status) {
    metrics.push(record.channel(), record.bot(), status);
    return deliveries.attempted(record.id(), tries.sent, response, status).onComplete(ar -> {
      inFlight.remove(record.id());
      if (ar.failed()) {
        LOG.warning("delivery " + record.id() + " ended " + status + " but could not be recorded: " + ar.cause());
      }
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
