package dev.switchboard.model;

/**
 * Opens when the failure rate over a sliding window (one-second buckets) passes the threshold with
 * at least {@code minCalls} calls; after the cooldown it lets one trial call through (half-open),
 * which closes it on success or opens it again on failure. Only the trial decides in half-open:
 * calls that started while it was closed and end later are not counted then. Confined to the
 * dispatcher's event loop; gauges read the state field from elsewhere, hence volatile.
 */
final class CircuitBreaker {

  enum State { CLOSED, OPEN, HALF_OPEN }

  private final ModelSettings.Breaker settings;
  private final int[] calls;
  private final int[] failures;
  private final long[] second;
  private volatile State state = State.CLOSED;
  private volatile long openUntil;
  private boolean trialInFlight;

  CircuitBreaker(ModelSettings.Breaker settings) {
    this.settings = settings;
    int buckets = (int) Math.max(1, settings.window().toSeconds());
    calls = new int[buckets];
    failures = new int[buckets];
    second = new long[buckets];
  }

  State state(long now) {
    State s = state;
    return s == State.OPEN && now >= openUntil ? State.HALF_OPEN : s;
  }

  long openUntil() {
    return openUntil;
  }

  /** Whether a call may go now (without taking the half-open trial). */
  boolean available(long now) {
    State s = state(now);
    return s == State.CLOSED || s == State.HALF_OPEN && !trialInFlight;
  }

  /** Takes the permission to call; true when this call is the half-open trial. */
  boolean acquire(long now) {
    if (state(now) == State.HALF_OPEN) {
      state = State.HALF_OPEN;
      trialInFlight = true;
      return true;
    }
    return false;
  }

  void success(long now, boolean trial) {
    if (trial) {
      reset();
    } else if (state == State.CLOSED) {
      record(now, false);
    }
  }

  void failure(long now, boolean trial) {
    if (trial) {
      open(now);
      return;
    }
    if (state != State.CLOSED) {
      return;
    }
    record(now, true);
    long total = 0;
    long failed = 0;
    long oldest = now / 1000 - calls.length + 1;
    for (int i = 0; i < calls.length; i++) {
      if (second[i] >= oldest) {
        total += calls[i];
        failed += failures[i];
      }
    }
    if (total >= settings.minCalls() && failed >= settings.failureRate() * total) {
      open(now);
    }
  }

  /** A call that ended neither way (cancelled, or the request's own fault): frees the trial if it was one. */
  void release(boolean trial) {
    if (trial) {
      trialInFlight = false;
    }
  }

  /** A health probe saw the deployment answer: close at once. */
  void reset() {
    state = State.CLOSED;
    trialInFlight = false;
    java.util.Arrays.fill(calls, 0);
    java.util.Arrays.fill(failures, 0);
  }

  private void open(long now) {
    openUntil = now + settings.cooldown().toMillis();
    state = State.OPEN;
    trialInFlight = false;
  }

  private void record(long now, boolean failed) {
    long s = now / 1000;
    int i = (int) Math.floorMod(s, (long) calls.length);
    if (second[i] != s) {
      second[i] = s;
      calls[i] = 0;
      failures[i] = 0;
    }
    calls[i]++;
    if (failed) {
      failures[i]++;
    }
  }
}
