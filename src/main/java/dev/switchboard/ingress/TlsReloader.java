package dev.switchboard.ingress;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.util.logging.Logger;

/**
 * Picks up a renewed certificate without a restart: every {@code server.tls.reload_check} the
 * files' sizes and times are compared with what is in use, and on a change they are read, checked
 * as at start-up and swapped into the listener. Handshakes after the swap get the new certificate;
 * connections already open keep theirs. A file that fails the check leaves the old certificate in
 * place and says why, once per change (a renewal tool writing cert and key one after the other is
 * seen half-done at most once, and picked up at the next check).
 */
final class TlsReloader {

  private static final Logger LOG = Logger.getLogger(TlsReloader.class.getName());

  private final Vertx vertx;
  private final HttpServer server;
  private final TlsSettings tls;
  private String inUse;
  private String refused;
  private long timer = -1;

  TlsReloader(Vertx vertx, HttpServer server, TlsSettings tls, String stampInUse) {
    this.vertx = vertx;
    this.server = server;
    this.tls = tls;
    this.inUse = stampInUse;
  }

  void start() {
    if (!tls.reloadCheck().isZero()) {
      timer = vertx.setPeriodic(tls.reloadCheck().toMillis(), id -> checkForChange());
    }
  }

  void stop() {
    vertx.cancelTimer(timer);
  }

  private void checkForChange() {
    vertx.executeBlocking(tls::stamp, false).onSuccess(stamp -> {
      if (!stamp.equals(inUse) && !stamp.equals(refused)) {
        reload(stamp);
      }
    });
  }

  /** Reads, checks and applies the files now; fails with the reason when they are not usable. */
  Future<Void> reload() {
    return vertx.executeBlocking(tls::stamp, false).compose(this::reload);
  }

  private Future<Void> reload(String stamp) {
    return vertx.executeBlocking(tls::reload, false)
        .compose(options -> server.updateSSLOptions(options, true))
        .<Void>mapEmpty()
        .onSuccess(v -> {
          inUse = stamp;
          refused = null;
          LOG.info("TLS certificate reloaded from " + tls.cert());
        })
        .onFailure(e -> {
          refused = stamp;
          LOG.warning("TLS files not reloaded, the certificate in use stays: " + e.getMessage());
        });
  }
}
