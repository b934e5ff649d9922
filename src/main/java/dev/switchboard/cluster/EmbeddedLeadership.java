package dev.switchboard.cluster;

import io.vertx.core.Future;
import java.util.function.Consumer;

/** The embedded profile has one instance: it always leads, with token 1. */
public final class EmbeddedLeadership implements Leadership {

  private final Lease lease;

  public EmbeddedLeadership(String instanceId) {
    this.lease = new Lease(true, 1, instanceId);
  }

  @Override
  public Lease lease() {
    return lease;
  }

  @Override
  public Future<Void> start(Consumer<Lease> onChange) {
    return Future.succeededFuture();
  }

  @Override
  public Future<Void> stop() {
    return Future.succeededFuture();
  }
}
