package dev.switchboard.security;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.Failure;
import dev.switchboard.bus.RateTake;
import dev.switchboard.observe.Metrics;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.ext.web.RoutingContext;

/**
 * The HTTP side of {@link RateLimits}: after authentication on token routes (by subject), and
 * before the body on webhook routes (by client address), a request takes a token from its bucket
 * ({@link RateLimitVerticle}) or is refused with 429, a {@code Retry-After} in whole seconds
 * (rounded up) and an OpenAI-shaped error, which the official SDKs surface as a rate-limit error
 * and retry after that long. Routes whose requests are not limited pass straight through.
 */
public final class RateLimitHandler {

  /** Longer than RedisBuckets takes to give up: the verticle's own answer (unchecked) comes first. */
  private static final DeliveryOptions ASK = new DeliveryOptions().setSendTimeout(5_000);

  private final Vertx vertx;
  private final RateLimits limits;
  private final Metrics metrics;

  public RateLimitHandler(Vertx vertx, RateLimits limits) {
    this.vertx = vertx;
    this.limits = limits;
    this.metrics = Metrics.current();
    if (limits.limitsSubjects()) {
      for (RouteFamily f : RouteFamily.values()) {
        if (f != RouteFamily.WEBHOOKS) {
          metrics.rateLimitFamily(f.scope());
        }
      }
    }
    if (limits.webhooksPerIp() != null) {
      metrics.rateLimitFamily(RouteFamily.WEBHOOKS.scope());
    }
  }

  /** For after {@link BearerAuthHandler}: the authenticated subject's bucket for this route's family. */
  public Handler<RoutingContext> perSubject() {
    if (!limits.limitsSubjects()) {
      return RoutingContext::next;
    }
    // the normalised path, as the router and RouteAccess see it: "/v1/../api/v1/tasks" is a tasks request
    return ctx -> {
      RouteFamily family = RouteFamily.of(ctx.request().method(), ctx.normalizedPath());
      take(ctx, family, limits.forSubject(BearerAuthHandler.subject(ctx), family));
    };
  }

  /** For every request, first: webhook requests take from their client address's bucket; others pass. */
  public Handler<RoutingContext> perAddress() {
    if (limits.webhooksPerIp() == null) {
      return RoutingContext::next;
    }
    return ctx -> {
      RouteFamily family = RouteFamily.of(ctx.request().method(), ctx.normalizedPath());
      if (family != RouteFamily.WEBHOOKS) {
        ctx.next();
        return;
      }
      SocketAddress remote = ctx.request().remoteAddress();
      take(ctx, family, limits.forAddress(remote == null || remote.hostAddress() == null ? "unknown" : remote.hostAddress()));
    };
  }

  /**
   * For callers that are not routes (MCP tools): {@code subject}'s bucket for {@code family}, when
   * it is another than the one {@code via} (the route the call came by) already took from, so a
   * family's limit holds whichever way it is reached; a 429 {@link Failure} when it is empty.
   */
  public io.vertx.core.Future<Void> take(String subject, RouteFamily family, RouteFamily via) {
    RateLimits.Bucket bucket = limits.forSubject(subject, family);
    RateLimits.Bucket taken = limits.forSubject(subject, via);
    if (bucket == null || (taken != null && taken.key().equals(bucket.key()))) {
      return io.vertx.core.Future.succeededFuture();
    }
    RateLimits.Limit limit = bucket.limit();
    return vertx.eventBus().<Long>request(Addresses.SECURITY_RATE_TAKE,
            new RateTake(bucket.key(), limit.rate(), limit.per().toMillis(), limit.burst()), ASK)
        .transform(ar -> {
          if (ar.failed()) {
            metrics.rateLimitUnchecked();
            return io.vertx.core.Future.succeededFuture();
          }
          long waitMs = ar.result().body();
          if (waitMs <= 0) {
            return io.vertx.core.Future.succeededFuture();
          }
          long seconds = Math.max(1, (waitMs + 999) / 1000);
          metrics.rateLimited(family.scope());
          return io.vertx.core.Future.failedFuture(
              Failure.tooManyRequests("rate limit exceeded for " + bucket.who() + "; retry after " + seconds + " s", seconds));
        });
  }

  private void take(RoutingContext ctx, RouteFamily family, RateLimits.Bucket bucket) {
    if (bucket == null) {
      ctx.next();
      return;
    }
    RateLimits.Limit limit = bucket.limit();
    vertx.eventBus().<Long>request(Addresses.SECURITY_RATE_TAKE,
            new RateTake(bucket.key(), limit.rate(), limit.per().toMillis(), limit.burst()), ASK)
        .onComplete(ar -> {
          if (ar.failed()) {
            // the limiter did not answer: like a Redis that cannot be asked, the request is not held back for it
            metrics.rateLimitUnchecked();
            ctx.next();
            return;
          }
          long waitMs = ar.result().body();
          if (waitMs <= 0) {
            ctx.next();
            return;
          }
          long seconds = Math.max(1, (waitMs + 999) / 1000);
          metrics.rateLimited(family.scope());
          ctx.fail(Failure.tooManyRequests("rate limit exceeded for " + bucket.who() + "; retry after " + seconds + " s", seconds));
        });
  }
}
