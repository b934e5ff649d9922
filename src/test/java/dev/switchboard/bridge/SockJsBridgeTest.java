package dev.switchboard.bridge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("SockJS event-bus bridge")
class SockJsBridgeTest extends BridgeBehaviour {

  @Override
  BridgeClient connect() throws Exception {
    return BridgeClient.sockjs(vertx, gateway.port(), null);
  }

  @Override
  boolean denied(JsonObject frame) {
    return "err".equals(frame.getString("type")) && "access_denied".equals(frame.getString("body"));
  }

  @Override
  boolean message(JsonObject frame, String address) {
    return "rec".equals(frame.getString("type")) && address.equals(frame.getString("address"));
  }

  @Test
  @DisplayName("a connect request's Authorization header authenticates the connection")
  void connectRequestToken() throws Exception {
    try (BridgeClient authed = BridgeClient.sockjs(vertx, gateway.port(), "Bearer " + token("alice"))) {
      JsonObject submit = request(PublicApi.TASKS_SUBMIT, null, task("token on the connect request"));
      authed.send(submit);
      assertEquals("queued", authed.next(f -> message(f, submit.getString("replyAddress"))).getJsonObject("body").getString("status"));
    }
  }

  @Test
  @DisplayName("a connect request with a bad token is closed without serving a frame, and recorded as an authentication failure")
  void connectRequestBadToken() throws Exception {
    BridgeClient refused;
    try {
      refused = BridgeClient.sockjs(vertx, gateway.port(), "Bearer not.a.jwt");
    } catch (Exception handshakeRefused) {
      dev.switchboard.cluster.Until.holds(java.time.Duration.ofSeconds(15), "the failure recorded", () -> !audit("auth.failure").isEmpty());
      return;
    }
    try (BridgeClient c = refused) {
      long until = System.currentTimeMillis() + 10_000;
      while (!c.closed() && System.currentTimeMillis() < until) {
        Thread.sleep(50);
      }
      assertTrue(c.closed());
      assertTrue(tasks().isEmpty());
      dev.switchboard.cluster.Until.holds(java.time.Duration.ofSeconds(15), "the failure recorded", () -> !audit("auth.failure").isEmpty());
    }
  }
}
