package dev.switchboard.cluster;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.Failure;
import dev.switchboard.bus.Health;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.logging.Logger;

/**
 * This instance among the others: its identity, the leader lease, and the registry of live
 * instances, served on {@code cluster.self} and {@code cluster.instances}. On the distributed
 * profile they live in Redis; the embedded profile is one instance that always leads. Deployed
 * first (after the data-dir lock), so that every later component can ask who leads.
 */
public final class ClusterVerticle extends VerticleBase {

  private static final Logger LOG = Logger.getLogger(ClusterVerticle.class.getName());

  /** How often an instance reports itself; well inside {@link Registry#DEAD_AFTER_MS}. */
  static final long HEARTBEAT_MS = 3_000;

  private final String profile;
  private final String redisUrl;
  private final String namespace;
  private final RedisLeadership.Timing timing;
  private volatile Cluster cluster;
  private RedisCalls redis;
  private Registry registry;
  private long beatTimer = -1;
  /** Tasks running now, as the task component said last. */
  private int running;
  /** Whether the last heartbeat failed: its failures are logged when they start and end, not every time. */
  private boolean beatFailing;

  /** {@code profile}: embedded or distributed (Redis at {@code redisUrl}). */
  public ClusterVerticle(String profile, String redisUrl) {
    this(profile, redisUrl, RedisCalls.NAMESPACE, RedisLeadership.Timing.DEFAULT);
  }

  ClusterVerticle(String profile, String redisUrl, String namespace, RedisLeadership.Timing timing) {
    this.profile = profile;
    this.redisUrl = redisUrl;
    this.namespace = namespace;
    this.timing = timing;
  }

  /** This instance's view of the cluster; available once the verticle has started. */
  public Cluster cluster() {
    if (cluster == null) {
      throw new IllegalStateException("the cluster verticle has not started");
    }
    return cluster;
  }

  @Override
  public Future<?> start() {
    // the host name may take a DNS look-up
    return vertx.executeBlocking(Instance::current).compose(instance -> {
      Leadership leadership;
      Bulletin bulletin;
      if (distributed()) {
        redis = RedisCalls.connect(vertx, redisUrl);
        RedisLeadership lease = new RedisLeadership(vertx, redis, namespace, instance.id(), timing);
        leadership = lease;
        bulletin = new RedisBulletin(redis, namespace, lease.leaseKey());
        registry = new RedisRegistry(redis, namespace, lease.leaseKey());
      } else {
        leadership = new EmbeddedLeadership(instance.id());
        bulletin = new LocalBulletin();
        registry = new LocalRegistry();
      }
      cluster = new Cluster(instance, leadership, bulletin);
      var bus = vertx.eventBus();
      return Future.all(
              bus.<Void>localConsumer(Addresses.CLUSTER_SELF, this::self).completion(),
              bus.<Void>localConsumer(Addresses.CLUSTER_INSTANCES, this::instances).completion())
          .compose(v -> leadership.start(this::changed))
          .onSuccess(v -> {
            // the embedded registry is this instance alone: it is asked when someone wants the list
            if (distributed()) {
              beat();
              beatTimer = vertx.setPeriodic(HEARTBEAT_MS, t -> beat());
            }
          });
    });
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(beatTimer);
    if (cluster == null) {
      return Future.succeededFuture();
    }
    String id = cluster.instance().id();
    return cluster.leadership().stop()
        .compose(v -> registry.leave(id))
        .recover(e -> {
          LOG.info("instance " + id + " could not leave the registry (" + RedisCalls.why(e) + "): it drops out in "
              + Registry.DEAD_AFTER_MS / 1000 + "s");
          return Future.succeededFuture();
        })
        .compose(v -> redis == null ? Future.succeededFuture() : redis.close());
  }

  private boolean distributed() {
    return "distributed".equals(profile);
  }

  private void changed(Lease lease) {
    vertx.eventBus().publish(Addresses.CLUSTER_LEADER, lease.toJson());
  }

  private JsonObject entry() {
    return cluster.instance().toJson().put("running", running).put("leader", cluster.leadership().lease().leader());
  }

  /** Reports this instance, with the tasks it runs now (asked of the task component, which may not be deployed yet). */
  private Future<Void> beat() {
    return vertx.eventBus().<Health>request(Addresses.TASK_HEALTH, null, new DeliveryOptions().setSendTimeout(RedisCalls.COMMAND_TIMEOUT_MS))
        .onSuccess(m -> {
          JsonObject queue = m.body() == null ? null : m.body().entries().getJsonObject("queue");
          if (queue != null && queue.getValue("running") instanceof Number n) {
            running = n.intValue();
          }
        })
        .transform(health -> registry.beat(entry()))
        .andThen(ar -> {
          if (ar.failed() && !beatFailing) {
            LOG.warning("instance " + cluster.instance().id() + " cannot report itself to the registry: "
                + RedisCalls.why(ar.cause()) + "; other instances list it for " + Registry.DEAD_AFTER_MS / 1000 + "s more");
          } else if (ar.succeeded() && beatFailing) {
            LOG.info("instance " + cluster.instance().id() + " reports itself to the registry again");
          }
          beatFailing = ar.failed();
        });
  }

  private void self(Message<Void> message) {
    message.reply(cluster.instance().toJson().put("leader", cluster.leadership().lease().leader()));
  }

  private void instances(Message<Void> message) {
    (distributed() ? registry.live() : beat().compose(v -> registry.live())).onComplete(ar -> {
      if (ar.failed()) {
        Failure.reply(message, Failure.unavailable("cluster_unavailable",
            "the instance registry (Redis) is unavailable: " + RedisCalls.why(ar.cause())));
        return;
      }
      List<JsonObject> live = new ArrayList<>(ar.result());
      live.sort(Comparator.comparing((JsonObject e) -> e.getString("started_at", "")).thenComparing(e -> e.getString("id", "")));
      message.reply(new JsonObject().put("data", new JsonArray(new ArrayList<>(live))));
    });
  }
}
