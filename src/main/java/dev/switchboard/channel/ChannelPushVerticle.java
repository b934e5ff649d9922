package dev.switchboard.channel;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.Delivery;
import dev.switchboard.bus.Failure;
import dev.switchboard.bus.PushRequest;
import dev.switchboard.bus.TaskSubmission;
import dev.switchboard.observe.Metrics;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Pushes messages to platform bots. Each bot has its own sending window (platform limits by
 * default); platform throttling and passing faults are retried with backoff, permanent refusals
 * fail at once. Every push ends in a {@link Delivery} that keeps the platform's last answer.
 */
public final class ChannelPushVerticle extends VerticleBase {

  static final Duration PUSH_TIMEOUT = Duration.ofSeconds(10);
  static final Duration BACKOFF_MAX = Duration.ofMinutes(5);

  private final ChannelSettings settings;
  private final Map<String, RateLimiter> limiters = new HashMap<>();
  private HttpClient client;
  private Metrics metrics;

  public ChannelPushVerticle(ChannelSettings settings) {
    this.settings = settings;
  }

  @Override
  public Future<?> start() {
    metrics = Metrics.current();
    client = vertx.createHttpClient(new HttpClientOptions()
        .setConnectTimeout((int) PUSH_TIMEOUT.toMillis())
        .setKeepAlive(true), new PoolOptions().setHttp1MaxSize(32));
    var bus = vertx.eventBus();
    return Future.all(
        bus.<PushRequest>localConsumer(Addresses.CHANNEL_PUSH, this::push).completion(),
        bus.<TaskSubmission.Target>localConsumer(Addresses.CHANNEL_CHECK, this::check).completion());
  }

  @Override
  public Future<?> stop() {
    return client.close();
  }

  private void check(Message<TaskSubmission.Target> message) {
    var why = settings.unusable(message.body().type(), message.body().bot());
    if (why.isPresent()) {
      Failure.reply(message, Failure.badRequest("channel_unavailable", why.get()));
    } else {
      message.reply(null);
    }
  }

  private void push(Message<PushRequest> message) {
    PushRequest req = message.body();
    var unusable = settings.unusable(req.channel(), req.bot());
    if (unusable.isPresent()) {
      message.reply(record(req, Delivery.FAILED, 0, new JsonObject().put("error", unusable.get())));
      return;
    }
    Bot bot = settings.bot(req.channel(), req.bot()).orElseThrow();
    RateLimiter limiter = limiters.computeIfAbsent(req.channel() + "/" + req.bot(), k -> new RateLimiter(vertx, bot.rateLimits()));
    Promise<Delivery> done = Promise.promise();
    attempt(bot, limiter, req, java.util.UUID.randomUUID().toString(), new Tries(), done);
    done.future().onComplete(ar -> message.reply(ar.succeeded() ? ar.result()
        : record(req, Delivery.FAILED, 0, new JsonObject().put("error", String.valueOf(ar.cause().getMessage())))));
  }

  /** Sends so far; throttle answers have their own budget, so a throttled platform does not fail messages fast. */
  private static final class Tries {
    int sent;
    int failures;
    int throttles;
  }

  static final int MAX_THROTTLES = 5;

  /** One try after waiting for the bot's window; throttling and passing faults come back here later. */
  private void attempt(Bot bot, RateLimiter limiter, PushRequest req, String deliveryId, Tries tries,
                       Promise<Delivery> done) {
    limiter.acquire(tries.sent > 0)
        .compose(turn -> {
          tries.sent++;
          return send(bot.request(req.text(), deliveryId, System.currentTimeMillis()));
        })
        .map(answer -> bot.read(answer.status, answer.body))
        .otherwise(e -> new Bot.Answer(Bot.Verdict.RETRY, new JsonObject().put("error", String.valueOf(e.getMessage()))))
        .onSuccess(answer -> {
          try {
            settle(bot, limiter, req, deliveryId, tries, answer, done);
          } catch (RuntimeException e) {
            done.tryFail(e);
          }
        });
  }

  private void settle(Bot bot, RateLimiter limiter, PushRequest req, String deliveryId, Tries tries, Bot.Answer answer,
                      Promise<Delivery> done) {
    switch (answer.verdict()) {
      case DELIVERED -> done.complete(record(req, Delivery.DELIVERED, tries.sent, answer.response()));
      case FAILED -> done.complete(record(req, Delivery.FAILED, tries.sent, answer.response()));
      case THROTTLED -> {
        if (++tries.throttles > MAX_THROTTLES) {
          done.complete(record(req, Delivery.FAILED, tries.sent, answer.response()));
          return;
        }
        // the platform holds the whole bot: everything queued for it waits, this message first
        long wait = Math.max(bot.throttlePause().toMillis(), backoff(bot, tries.throttles));
        limiter.pauseFor(wait);
        attempt(bot, limiter, req, deliveryId, tries, done);
      }
      default -> {
        if (++tries.failures >= bot.retry().maxAttempts()) {
          done.complete(record(req, Delivery.FAILED, tries.sent, answer.response()));
          return;
        }
        vertx.setTimer(backoff(bot, tries.failures), id -> attempt(bot, limiter, req, deliveryId, tries, done));
      }
    }
  }

  /** Exponential with jitter: between half and all of base * 2^(n-1), at most five minutes. */
  private static long backoff(Bot bot, int n) {
    long cap = Math.min(BACKOFF_MAX.toMillis(), bot.retry().backoff().toMillis() << Math.min(20, n - 1));
    return Math.max(1, cap / 2 + ThreadLocalRandom.current().nextLong(cap / 2 + 1));
  }

  private record Reply(int status, String body) {
  }

  private Future<Reply> send(Bot.Request request) {
    RequestOptions options = new RequestOptions()
        .setMethod(HttpMethod.POST)
        .setAbsoluteURI(request.url())
        .setConnectTimeout(PUSH_TIMEOUT.toMillis())
        .setIdleTimeout(PUSH_TIMEOUT.toMillis());
    request.headers().forEach(options::putHeader);
    return client.request(options)
        .compose(r -> r.send(request.body()))
        .compose(resp -> resp.body().map(body -> new Reply(resp.statusCode(), body.toString())));
  }

  private Delivery record(PushRequest req, String status, int attempts, JsonObject response) {
    metrics.push(req.channel(), req.bot(), status);
    return new Delivery(req.channel(), req.bot(), status, attempts, response);
  }
}
