package dev.switchboard.audit;

import dev.switchboard.bus.Addresses;
import dev.switchboard.observe.RequestIds;
import io.vertx.core.Vertx;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * What a component calls to leave an audit record: the event goes on the bus to
 * {@link AuditVerticle} and the call returns at once. It never blocks and never fails its caller;
 * the verticle keeps the event durably (in the store, or in its spool while the store is down).
 */
public final class Audit {

  private static final Logger LOG = Logger.getLogger(Audit.class.getName());
  static final String SHARED = "switchboard.audit";
  static final String INCLUDE_BODIES = "include_bodies";

  private Audit() {
  }

  public static void record(Vertx vertx, AuditEvent event) {
    if (event.requestId().isEmpty()) {
      // the request this work is for (the edge's, carried across the bus: observe.RequestIds), so a
      // component's record (a model call, a push) can be found from the client's request
      String current = RequestIds.current();
      if (current != null) {
        event = event.requestId(current);
      }
    }
    try {
      vertx.eventBus().send(Addresses.AUDIT_RECORD, event);
    } catch (RuntimeException e) {
      // a Vert.x without the gateway's codecs (a component tested alone): nothing to record to
      LOG.log(Level.FINE, "audit record not sent", e);
    }
  }

  /** Whether a caller should attach a body ({@code audit.include_bodies}); false saves copying one that would be dropped. */
  public static boolean bodies(Vertx vertx) {
    return Boolean.TRUE.equals(vertx.sharedData().getLocalMap(SHARED).get(INCLUDE_BODIES));
  }
}
