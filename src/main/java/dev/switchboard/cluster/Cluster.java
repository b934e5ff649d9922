package dev.switchboard.cluster;

import java.time.Instant;

/**
 * What the cluster verticle gives the other components: this instance, the leadership (ask
 * {@code leadership().lease()} before doing leader-only work), and the bulletin through which the
 * leader shares the results of that work. Changes of the lead are also published on
 * {@link dev.switchboard.bus.Addresses#CLUSTER_LEADER} for components that react to them.
 */
public record Cluster(Instance instance, Leadership leadership, Bulletin bulletin) {

  /** A lone instance that always leads, for a component started without the cluster verticle. */
  public static Cluster single() {
    Instance instance = new Instance("local-" + ProcessHandle.current().pid(), Instance.jarVersion(), Instant.now());
    return new Cluster(instance, new EmbeddedLeadership(instance.id()), new LocalBulletin());
  }
}
