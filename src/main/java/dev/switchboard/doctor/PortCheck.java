package dev.switchboard.doctor;

import dev.switchboard.channel.Bodies;
import io.vertx.core.Future;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

/**
 * Whether the gateway could listen where it is configured to. A taken port is fine when the one
 * holding it is a switchboard (the doctor runs beside a gateway): its {@code /healthz} says so.
 */
final class PortCheck {

  /** What was found on one address. */
  enum State { FREE, SWITCHBOARD, TAKEN, UNBINDABLE }

  record Outcome(State state, Finding finding) {
  }

  private PortCheck() {
  }

  /** {@code http}: probe /healthz with it when the port is taken (null: a raw TCP port, not probed). */
  static Outcome check(String subject, String host, int port, HttpClient http, io.vertx.core.Context context, boolean tls,
                       String hostKey, String portKey, long timeoutMs) {
    if (port == 0) {
      return new Outcome(State.FREE, Finding.skip(subject, "port 0: any free port, nothing to check"));
    }
    try (ServerSocket socket = new ServerSocket()) {
      socket.setReuseAddress(true);
      socket.bind(new InetSocketAddress(host, port));
      return new Outcome(State.FREE, Finding.ok(subject, host + ":" + port + " free to bind"));
    } catch (IOException e) {
      Outcome refused = refused(subject, host, port, e, hostKey, portKey);
      if (refused != null) {
        return refused;
      }
    }
    String answer = http == null ? null : healthz(http, context, host, port, tls, timeoutMs);
    if ("switchboard".equals(answer)) {
      return new Outcome(State.SWITCHBOARD, Finding.ok(subject, host + ":" + port + " in use by a running switchboard (/healthz answered)"));
    }
    return new Outcome(State.TAKEN, Finding.fail(subject, host + ":" + port + " is in use by another program"
        + (answer == null ? "" : " (" + answer + ")"), "stop that program, or move the gateway: set " + portKey));
  }

  /**
   * A bind that failed: null when the address is only in use (then who holds it decides), else the
   * finding. A privileged port is a BindException too ("Permission denied"), not a port in use.
   */
  static Outcome refused(String subject, String host, int port, IOException e, String hostKey, String portKey) {
    String why = e.getMessage() == null ? "" : e.getMessage();
    if (e instanceof BindException && why.contains("already in use")) {
      return null;
    }
    if (why.contains("Cannot assign") || why.contains("Unresolved")) {
      return new Outcome(State.UNBINDABLE, Finding.fail(subject, host + (why.contains("Unresolved") ? " does not resolve" : " is not an address of this machine"),
          "set " + hostKey + " to an address this host has (127.0.0.1, 0.0.0.0 or one of its own)"));
    }
    return new Outcome(State.UNBINDABLE, Finding.fail(subject, "cannot bind " + host + ":" + port + ": " + Doctor.message(e),
        "set " + portKey + " to a port this user may bind (above 1023 unless it runs as root)"));
  }

  /** "switchboard" when /healthz answers as the gateway does; else what it answered. */
  private static String healthz(HttpClient http, io.vertx.core.Context context, String host, int port, boolean tls,
                                long timeoutMs) {
    String h = host.contains(":") ? "[" + host + "]" : host;
    String target = "0.0.0.0".equals(host) || "::".equals(host) ? "127.0.0.1" : h;
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.GET)
        .setAbsoluteURI((tls ? "https" : "http") + "://" + target + ":" + port + "/healthz")
        .setConnectTimeout(timeoutMs).setIdleTimeout(timeoutMs).setFollowRedirects(false);
    try {
      // bounded: whatever holds the port may answer without end
      return Doctor.onContext(context, () -> http.request(options).compose(r -> r.send()).compose(r -> Bodies.read(r, Bodies.MAX_ANSWER_BYTES, "/healthz").map(b -> {
        if (r.statusCode() == 200) {
          try {
            if ("ok".equals(new JsonObject(b).getString("status"))) {
              return "switchboard";
            }
          } catch (RuntimeException notJson) {
            // someone else's page
          }
        }
        return "GET /healthz answered " + r.statusCode() + " " + Doctor.clip(b.toString().strip(), 40);
      }).recover(e -> e instanceof Bodies.TooLarge
          ? Future.succeededFuture("GET /healthz answered " + r.statusCode() + " with more than "
              + Bodies.describe(Bodies.MAX_ANSWER_BYTES))
          : Future.failedFuture(e))), timeoutMs + 1000);
    } catch (Exception e) {
      return "no HTTP answer on /healthz";
    }
  }
}
