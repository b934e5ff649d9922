package dev.switchboard.security;

import io.vertx.core.Future;

/**
 * Where the rate-limit buckets are kept: in memory for the embedded profile (one instance), in
 * Redis for the distributed one, so that a caller spreading its requests over several instances
 * is held to one limit. The same behaviour either way (BucketsBehaviour).
 */
interface Buckets {

  /**
   * Takes one token from the bucket {@code key}, refilled at {@code limit} since it was last
   * asked: 0 when one was taken, else how many ms until one will be there (nothing is taken).
   * A bucket not seen before (or idle long enough to be full again) holds {@code limit.burst()}.
   */
  Future<Long> take(String key, RateLimits.Limit limit);

  default Future<Void> close() {
    return Future.succeededFuture();
  }
}
