package dev.switchboard.cluster;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Response;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;
import java.util.logging.Logger;

/**
 * Leadership by a Redis lease. The lease key holds {@code "<instance id> <token>"} with a time to
 * live; whoever finds it free sets it (with the semantics of {@code SET NX PX}) under a token drawn
 * from {@code INCR} of the epoch key, so every new holder has a larger token than all before it.
 * The holder extends it each tick with a compare-and-extend script (only while the key still holds
 * its own value); the others try to take it each tick, so a dead holder's lease is taken over
 * within its time to live plus a tick (10 s + 1 s by default, inside the 15 s promised).
 *
 * <p>The holder counts itself leader until the lease's length, less one tick, after it <em>sent</em>
 * its last successful renewal. Redis started that renewal's time to live later than that, so the
 * holder steps down before anyone else can take over, with a tick to spare for a late timer or a
 * busy event loop: two leaders never overlap (clocks running at the same rate assumed, not the same
 * time). A renewal that finds the key gone or someone else's loses the lead at once. Confined to
 * the context that called {@link #start}.
 */
public final class RedisLeadership implements Leadership {

  private static final Logger LOG = Logger.getLogger(RedisLeadership.class.getName());

  /** How long a lease lives without renewal, and how often holders renew and others try. */
  public record Timing(Duration lease, Duration tick) {
    public static final Timing DEFAULT = new Timing(Duration.ofSeconds(10), Duration.ofSeconds(1));
  }

  // KEYS: lease, epoch. ARGV: instance id, lease ms. Free (or, after this instance stepped down on
  // its own clock, still its own): a fresh token, so that even a resumed lead is a new change.
  private static final String ACQUIRE = """
      local held = redis.call('GET', KEYS[1])
      if held then
        local space = string.find(held, ' ', 1, true)
        if not space or string.sub(held, 1, space - 1) ~= ARGV[1] then
          return {0, held}
        end
      end
      local token = redis.call('INCR', KEYS[2])
      redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. token, 'PX', ARGV[2])
      return {1, token}""";

  // KEYS: lease. ARGV: "<id> <token>", lease ms.
  private static final String RENEW = """
      if redis.call('GET', KEYS[1]) == ARGV[1] then
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        return 1
      end
      return 0""";

  // KEYS: lease. ARGV: "<id> <token>". Only its own lease: an instance that lost it hands back nothing.
  private static final String RELEASE = """
      if redis.call('GET', KEYS[1]) == ARGV[1] then
        return redis.call('DEL', KEYS[1])
      end
      return 0""";

  private final Vertx vertx;
  private final RedisCalls redis;
  private final String id;
  private final Timing timing;
  private final List<String> keys;
  private volatile Lease current = Lease.NONE;
  private Consumer<Lease> onChange = lease -> { };
  /** System.nanoTime() until which this instance may count itself leader. */
  private long validUntil;
  private long tickTimer = -1;
  private long deadlineTimer = -1;
  private boolean busy;
  private boolean stopped;
  private String lastError = "no answer yet";

  RedisLeadership(Vertx vertx, RedisCalls redis, String namespace, String instanceId, Timing timing) {
    this.vertx = vertx;
    this.redis = redis;
    this.id = instanceId;
    this.timing = timing;
    this.keys = List.of(namespace + "leader", namespace + "epoch");
  }

  /** The lease key, whose value is {@code "<holder id> <token>"}; for fenced writes of the leader's work. */
  String leaseKey() {
    return keys.get(0);
  }

  @Override
  public Lease lease() {
    return current;
  }

  @Override
  public Future<Void> start(Consumer<Lease> listener) {
    this.onChange = listener;
    Promise<Void> first = Promise.promise();
    busy = true;
    acquire(System.nanoTime()).onComplete(ar -> {
      busy = false;
      first.complete();
    });
    tickTimer = vertx.setPeriodic(timing.tick().toMillis(), t -> tick());
    return first.future();
  }

  @Override
  public Future<Void> stop() {
    stopped = true;
    vertx.cancelTimer(tickTimer);
    vertx.cancelTimer(deadlineTimer);
    Lease was = current;
    if (!was.leader()) {
      return Future.succeededFuture();
    }
    current = new Lease(false, was.token(), null);
    LOG.info("instance " + id + " hands back the lead (token " + was.token() + "): it is stopping");
    return redis.eval(RELEASE, List.of(leaseKey()), id + " " + was.token())
        .<Void>mapEmpty()
        .recover(e -> {
          LOG.info("instance " + id + " could not hand back its lease (" + RedisCalls.why(e) + "): it expires on its own");
          return Future.succeededFuture();
        });
  }

  private void tick() {
    if (busy || stopped) {
      return;
    }
    if (current.leader() && expired()) {
      lose(notRenewed());
      return;
    }
    busy = true;
    long sentAt = System.nanoTime();
    (current.leader() ? renew(sentAt) : acquire(sentAt)).onComplete(ar -> busy = false);
  }

  private Future<?> acquire(long sentAt) {
    return redis.eval(ACQUIRE, keys, id, timing.lease().toMillis()).onSuccess(r -> {
      if (r.get(0).toInteger() == 1) {
        long token = r.get(1).toLong();
        if (stopped) {
          redis.eval(RELEASE, List.of(leaseKey()), id + " " + token);
          return;
        }
        extend(sentAt);
        gain(token);
      } else if (!current.leader()) {
        current = holder(r.get(1));
      }
    }).onFailure(e -> lastError = RedisCalls.why(e));
  }

  private Future<?> renew(long sentAt) {
    Lease held = current;
    return redis.eval(RENEW, List.of(leaseKey()), id + " " + held.token(), timing.lease().toMillis()).onSuccess(r -> {
      if (current != held) {
        return; // stepped down on its own clock meanwhile: the next tick starts afresh
      }
      if (r.toInteger() == 1) {
        extend(sentAt);
      } else {
        lose("its lease is no longer in Redis (expired or taken over)");
      }
    }).onFailure(e -> lastError = RedisCalls.why(e));
  }

  private void extend(long sentAt) {
    validUntil = sentAt + timing.lease().toNanos() - timing.tick().toNanos();
    armDeadline();
  }

  private boolean expired() {
    return System.nanoTime() - validUntil >= 0;
  }

  private String notRenewed() {
    return "it could not renew its lease for " + (timing.lease().toMillis() - timing.tick().toMillis()) / 1000.0
        + "s, the last error: " + lastError;
  }

  /** Steps down when the lease runs out on this instance's clock; a timer that fires early waits again. */
  private void armDeadline() {
    vertx.cancelTimer(deadlineTimer);
    long ms = Math.max(1, (validUntil - System.nanoTime() + 999_999) / 1_000_000);
    deadlineTimer = vertx.setTimer(ms, t -> {
      if (!current.leader()) {
        return;
      }
      if (expired()) {
        lose(notRenewed());
      } else {
        armDeadline();
      }
    });
  }

  private void gain(long token) {
    current = new Lease(true, token, id);
    LOG.info("instance " + id + " is now the leader (fencing token " + token + ")");
    onChange.accept(current);
  }

  private void lose(String why) {
    current = new Lease(false, current.token(), null);
    vertx.cancelTimer(deadlineTimer);
    LOG.info("instance " + id + " is no longer the leader: " + why);
    onChange.accept(current);
  }

  private static Lease holder(Response value) {
    String held = value == null ? "" : value.toString();
    int space = held.lastIndexOf(' ');
    try {
      return space < 0 ? Lease.NONE : new Lease(false, Long.parseLong(held.substring(space + 1)), held.substring(0, space));
    } catch (NumberFormatException e) {
      return Lease.NONE;
    }
  }
}
