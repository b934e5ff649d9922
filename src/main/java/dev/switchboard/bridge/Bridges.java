package dev.switchboard.bridge;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.ext.auth.jwt.JWTAuth;
import java.time.Duration;
import java.util.List;

/** Start-up of the bridges: the public addresses when any bridge is on, the TCP bridge when it is. */
public final class Bridges {

  private Bridges() {
  }

  /**
   * Deploys what {@code settings} turns on (the SockJS bridge is the HTTP ingress's); answers the
   * deployments that take clients' work, to be stopped first (the TCP bridge's, or none).
   * {@code limits}: security.rate_limits, which the public addresses keep as the HTTP API does.
   */
  public static Future<List<String>> deploy(Vertx vertx, BridgeSettings settings, BridgeAccess access, Duration chatTimeout,
                                            long maxFrame, dev.switchboard.security.RateLimits limits) {
    if (!settings.anyEnabled()) {
      return Future.succeededFuture(List.of());
    }
    return vertx.deployVerticle(new PublicApi(chatTimeout, limits))
        .compose(api -> settings.tcpEnabled()
            ? vertx.deployVerticle(new TcpBridgeVerticle(settings, access, maxFrame)).map(List::of)
            : Future.succeededFuture(List.<String>of()));
  }
}
