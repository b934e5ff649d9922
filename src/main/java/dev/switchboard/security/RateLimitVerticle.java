package dev.switchboard.security;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.RateTake;
import dev.switchboard.observe.Metrics;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import java.time.Duration;
import java.util.logging.Logger;

/**
 * Keeps the rate-limit buckets and serves {@link Addresses#SECURITY_RATE_TAKE}: in memory on the
 * embedded profile, in Redis on the distributed one, so that the limit holds across instances.
 *
 * <p>When Redis cannot be asked, requests go through unchecked (fail open), counted by
 * {@code switchboard.ratelimit.unchecked}, with one log line when the outage starts and one when
 * it ends. A limit protects the gateway and its upstreams from overuse by callers who are
 * already authenticated; refusing every one of them because the limiter's store is down would
 * turn a Redis outage into a full outage of chat and the API. While Redis is down it is asked
 * again once a {@link #RETRY} instead of on every request, so that requests do not each wait
 * for a connection that is not coming.
 */
public final class RateLimitVerticle extends VerticleBase {

  private static final Logger LOG = Logger.getLogger(RateLimitVerticle.class.getName());
  /** How long a failed Redis is left alone before it is asked again. */
  static final Duration RETRY = Duration.ofSeconds(1);
  /** How often buckets in memory that are full again are forgotten. */
  private static final Duration SWEEP = Duration.ofMinutes(1);

  private final RateLimits limits;
  private final boolean distributed;
  private final String redisUrl;
  private final String keyPrefix;
  private Buckets buckets;
  private Metrics metrics;
  /** Redis failed; until {@link #askAgainAt} (ns) requests are not checked. */
  private boolean down;
  private long askAgainAt;

  /**
   * {@code profile}: storage.profile; {@code keyPrefix}: what this deployment's Redis keys start
   * with (instances that share limits share it).
   */
  public RateLimitVerticle(RateLimits limits, String profile, String redisUrl, String keyPrefix) {
    this.limits = limits;
    this.distributed = "distributed".equals(profile);
    this.redisUrl = redisUrl;
    this.keyPrefix = keyPrefix;
  }

  @Override
  public Future<?> start() {
    if (!limits.limitsSubjects() && limits.webhooksPerIp() == null) {
      return Future.succeededFuture();
    }
    metrics = Metrics.current();
    if (distributed) {
      // no connection is made here: a Redis that is not there yet lets requests through, it does not fail the start
      buckets = new RedisBuckets(vertx, redisUrl, keyPrefix);
    } else {
      EmbeddedBuckets embedded = new EmbeddedBuckets();
      vertx.setPeriodic(SWEEP.toMillis(), id -> embedded.sweep());
      buckets = embedded;
    }
    return vertx.eventBus().<RateTake>localConsumer(Addresses.SECURITY_RATE_TAKE, this::take).completion();
  }

  @Override
  public Future<?> stop() {
    return buckets == null ? Future.succeededFuture() : buckets.close();
  }

  private void take(Message<RateTake> message) {
    RateTake t = message.body();
    if (down && System.nanoTime() - askAgainAt < 0) {
      unchecked(message);
      return;
    }
    buckets.take(t.key(), new RateLimits.Limit(t.rate(), Duration.ofMillis(t.perMs()), t.burst()))
        .onSuccess(wait -> {
          if (down) {
            down = false;
            LOG.info("rate limits: Redis answers again; requests are checked again");
          }
          message.reply(wait);
        })
        .onFailure(e -> {
          if (!down) {
            LOG.warning("rate limits: Redis cannot be asked (" + why(e) + "); requests go through unchecked "
                + "until it answers again (switchboard_ratelimit_unchecked_total counts them)");
          }
          down = true;
          askAgainAt = System.nanoTime() + RETRY.toNanos();
          unchecked(message);
        });
  }

  private void unchecked(Message<RateTake> message) {
    metrics.rateLimitUnchecked();
    message.reply(0L);
  }

  private static String why(Throwable t) {
    return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
  }
}
