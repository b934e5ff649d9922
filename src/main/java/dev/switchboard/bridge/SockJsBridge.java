package dev.switchboard.bridge;

import dev.switchboard.audit.Audit;
import dev.switchboard.bridge.BridgeAccess.Direction;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.bridge.PermittedOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.handler.sockjs.BridgeEvent;
import io.vertx.ext.web.handler.sockjs.SockJSBridgeOptions;
import io.vertx.ext.web.handler.sockjs.SockJSHandler;
import io.vertx.ext.web.handler.sockjs.SockJSSocket;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The SockJS event-bus bridge (vertx-web's), mounted by the HTTP ingress at {@code bridge.sockjs.path}.
 * A connection is authenticated by its connect request's {@code Authorization: Bearer} header, or
 * by the first frame whose {@code headers.authorization} carries a valid token (browsers cannot
 * set headers on a WebSocket); every frame is then checked by {@link BridgeAccess}.
 */
public final class SockJsBridge {

  /**
   * Where a refused frame is sent instead: an address in no permitted list, so that vertx-web
   * itself answers {@code access_denied} (a hook that refuses is answered "rejected").
   */
  static final String DENIED = "switchboard.bridge.denied";

  private final Vertx vertx;
  private final BridgeAccess access;
  private final Map<SockJSSocket, JsonObject> claims = new ConcurrentHashMap<>();

  private SockJsBridge(Vertx vertx, BridgeAccess access) {
    this.vertx = vertx;
    this.access = access;
  }

  /** The router to mount at {@code path + "/*"}. */
  public static Router router(Vertx vertx, BridgeSettings settings, BridgeAccess access) {
    // a chat is answered within retry.deadline; a task submit at once: five minutes is beyond either
    SockJSBridgeOptions options = new SockJSBridgeOptions().setReplyTimeout(300_000);
    settings.inbound().forEach(a -> options.addInboundPermitted(new PermittedOptions().setAddress(a)));
    settings.outbound().forEach(a -> options.addOutboundPermitted(new PermittedOptions().setAddress(a)));
    SockJsBridge bridge = new SockJsBridge(vertx, access);
    return SockJSHandler.create(vertx).bridge(options, bridge::event);
  }

  private void event(BridgeEvent event) {
    SockJSSocket socket = event.socket();
    switch (event.type()) {
      case SOCKET_CREATED -> connected(event, socket);
      case SOCKET_CLOSED -> {
        claims.remove(socket);
        event.complete(true);
      }
      case SEND, PUBLISH -> frame(event, socket, Direction.INBOUND);
      case REGISTER, UNREGISTER -> frame(event, socket, Direction.OUTBOUND);
      case RECEIVE -> event.complete(access.current(claims.get(socket)));
      default -> event.complete(true);
    }
  }

  /** A connect request with a token must bring a valid one; one without may authenticate with its first frame. */
  private void connected(BridgeEvent event, SockJSSocket socket) {
    String authorization = socket.headers() == null ? null : socket.headers().get("Authorization");
    if (authorization == null) {
      vertx.setTimer(BridgeAccess.AUTH_WINDOW_MS, id -> {
        if (!claims.containsKey(socket)) {
          socket.close();
        }
      });
      event.complete(true);
      return;
    }
    access.verify(authorization).onComplete(ar -> {
      if (ar.succeeded()) {
        claims.put(socket, ar.result());
      } else {
        Audit.record(vertx, BridgeAccess.refusal("sockjs", null, ar,
            socket.remoteAddress() == null ? null : socket.remoteAddress().hostAddress()));
      }
      event.complete(ar.succeeded());
    });
  }

  private void frame(BridgeEvent event, SockJSSocket socket, Direction direction) {
    JsonObject raw = event.getRawMessage();
    String address = raw.getValue("address") instanceof String a ? a : null;
    JsonObject headers = raw.getValue("headers") instanceof JsonObject h ? h : null;
    access.claims(headers, claims.get(socket)).onComplete(ar -> {
      if (ar.failed() || !access.permits(ar.result(), address, direction)) {
        Audit.record(vertx, BridgeAccess.refusal("sockjs", address, ar,
            socket.remoteAddress() == null ? null : socket.remoteAddress().hostAddress()));
        raw.put("address", DENIED);
        raw.remove("headers");
      } else {
        claims.put(socket, ar.result());
        raw.put("headers", BridgeAccess.forwarded(headers, ar.result()));
      }
      event.complete(true);
    });
  }
}
