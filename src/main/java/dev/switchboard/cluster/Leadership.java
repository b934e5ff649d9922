package dev.switchboard.cluster;

import io.vertx.core.Future;
import java.util.function.Consumer;

/**
 * One leader among the instances that share a store. Any verticle may ask {@link #lease()} at any
 * moment ("am I the leader now, with which token"): it is a volatile read, never a store call.
 * Work that only one instance may do (provider probes, cron schedules) checks it each time it is
 * about to start, and stamps what it writes with the token.
 */
public interface Leadership {

  /** The latest view; cheap, from any thread. */
  Lease lease();

  /**
   * Starts contending. The future completes once the first attempt has been answered or has timed
   * out (never failed: a store that is down means "not leader, trying again"), so that a caller
   * deployed afterwards starts with an informed view. {@code onChange} is called on the caller's
   * context each time this instance gains or loses the lead.
   */
  Future<Void> start(Consumer<Lease> onChange);

  /** Stops contending and hands the lease back at once, so that another instance need not wait for it to expire. */
  Future<Void> stop();
}
