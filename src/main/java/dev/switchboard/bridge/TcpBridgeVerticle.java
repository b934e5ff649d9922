package dev.switchboard.bridge;

import dev.switchboard.audit.Audit;
import dev.switchboard.bridge.BridgeAccess.Direction;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.parsetools.RecordParser;
import io.vertx.ext.eventbus.bridge.tcp.impl.protocol.FrameHelper;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.logging.Logger;

/**
 * The TCP event-bus bridge: vertx-tcp-eventbus-bridge's wire format (a 4-byte big-endian length,
 * then that many bytes of JSON frame), with every frame checked by {@link BridgeAccess}.
 *
 * <p>Not TcpEventBusBridge itself: its bridge-event hook can refuse a frame, but the refusal is
 * answered "blocked by bridgeEvent handler" (the contract says {@code access_denied}), or, to
 * avoid that, by logging an error per refused frame; it forwards {@code headers.authorization}
 * (the token) onto the bus; and it buffers a frame of any announced length. So this verticle
 * reads frames with a bounded RecordParser and writes them with the module's FrameHelper.
 */
public final class TcpBridgeVerticle extends VerticleBase {

  private static final Logger LOG = Logger.getLogger(TcpBridgeVerticle.class.getName());
  /** Larger frames close the connection: a task body is a few KB, and POST bodies stop at server.max_body_size. */
  private final long maxFrame;
  /** A request's reply wait when the frame's headers.timeout does not say. */
  private static final long DEFAULT_TIMEOUT_MS = 30_000;
  private static final long MAX_TIMEOUT_MS = 10 * 60_000;

  private final BridgeSettings settings;
  private final BridgeAccess access;
  private NetServer server;

  public TcpBridgeVerticle(BridgeSettings settings, BridgeAccess access, long maxFrame) {
    this.settings = settings;
    this.access = access;
    this.maxFrame = maxFrame;
  }

  @Override
  public Future<?> start() {
    NetServerOptions options = new NetServerOptions().setHost(settings.tcpHost()).setPort(settings.tcpPort());
    // the same protocols and suites as the HTTP listener; with server.tls.client_ca, mutual TLS
    Future<Void> tls = settings.tcpTls()
        ? vertx.executeBlocking(settings.serverTls()::forBridge, false).map(ssl -> {
          dev.switchboard.ingress.TlsSettings.apply(ssl, options);
          return null;
        })
        : Future.succeededFuture();
    return tls.compose(v -> vertx.createNetServer(options).connectHandler(this::connected).listen())
        .recover(e -> Future.failedFuture(new IllegalStateException("the TCP bridge cannot listen on "
            + settings.tcpHost() + ":" + settings.tcpPort() + " (bridge.tcp.host/port): " + e.getMessage(), e)))
        .onSuccess(s -> {
          server = s;
          LOG.info("TCP event-bus bridge listening on " + settings.tcpHost() + ":" + s.actualPort()
              + (settings.tcpTls() ? " (TLS)" : ""));
        });
  }

  /** The port actually bound (bridge.tcp.port 0 takes any free one). */
  public int actualPort() {
    return server.actualPort();
  }

  /** One client: its token's claims once a frame brought a valid one, and its registrations. */
  private static final class Connection {
    final NetSocket socket;
    final Map<String, MessageConsumer<Object>> registered = new HashMap<>();
    JsonObject claims;

    Connection(NetSocket socket) {
      this.socket = socket;
    }

    void closed() {
      registered.values().forEach(MessageConsumer::unregister);
      registered.clear();
    }
  }

  private void connected(NetSocket socket) {
    Connection connection = new Connection(socket);
    RecordParser parser = RecordParser.newFixed(4);
    boolean[] header = {true};
    parser.handler(chunk -> {
      if (header[0]) {
        long length = chunk.getUnsignedInt(0);
        if (length > maxFrame) {
          FrameHelper.sendErrFrame("frame_too_large", socket);
          socket.close();
          return;
        }
        if (length > 0) {
          header[0] = false;
          parser.fixedSizeMode((int) length);
        }
        return;
      }
      header[0] = true;
      parser.fixedSizeMode(4);
      frame(connection, chunk);
    });
    socket.handler(parser);
    long unauthenticated = vertx.setTimer(BridgeAccess.AUTH_WINDOW_MS, id -> {
      if (connection.claims == null) {
        FrameHelper.sendErrFrame("access_denied", socket);
        socket.close();
      }
    });
    socket.closeHandler(v -> {
      vertx.cancelTimer(unauthenticated);
      connection.closed();
    });
    socket.exceptionHandler(e -> socket.close());
  }

  private void frame(Connection connection, Buffer raw) {
    NetSocket socket = connection.socket;
    JsonObject frame;
    try {
      frame = raw.toJsonObject();
    } catch (RuntimeException e) {
      FrameHelper.sendErrFrame("invalid_json", socket);
      return;
    }
    String type = frame.getValue("type") instanceof String t ? t : "";
    if (type.equals("ping")) {
      FrameHelper.sendFrame("pong", socket);
      return;
    }
    Direction direction = switch (type) {
      case "send", "publish" -> Direction.INBOUND;
      case "register", "unregister" -> Direction.OUTBOUND;
      default -> null;
    };
    if (direction == null) {
      FrameHelper.sendErrFrame("unknown_type", socket);
      return;
    }
    if (!(frame.getValue("address") instanceof String address)) {
      FrameHelper.sendErrFrame("missing_address", socket);
      return;
    }
    JsonObject headers = frame.getValue("headers") instanceof JsonObject h ? h : null;
    access.claims(headers, connection.claims).onComplete(ar -> {
      if (ar.failed() || !access.permits(ar.result(), address, direction)) {
        FrameHelper.sendErrFrame("access_denied", socket);
        Audit.record(vertx, BridgeAccess.refusal("tcp", address, ar,
            socket.remoteAddress() == null ? null : socket.remoteAddress().hostAddress()));
        return;
      }
      // the first frame with a valid token authenticates the connection for the frames after it
      connection.claims = ar.result();
      JsonObject forwarded = BridgeAccess.forwarded(headers, ar.result());
      switch (type) {
        case "send" -> send(connection, address, frame, forwarded);
        case "publish" -> vertx.eventBus().publish(address, frame.getValue("body"), delivery(forwarded));
        case "register" -> register(connection, address);
        default -> unregister(connection, address);
      }
    });
  }

  private void send(Connection connection, String address, JsonObject frame, JsonObject headers) {
    Object body = frame.getValue("body");
    if (!(frame.getValue("replyAddress") instanceof String replyAddress)) {
      vertx.eventBus().send(address, body, delivery(headers));
      return;
    }
    vertx.eventBus().request(address, body, delivery(headers)).onComplete(ar -> {
      if (ar.succeeded()) {
        FrameHelper.sendFrame("message", replyAddress, null, null, true, ar.result().body(), connection.socket);
      } else {
        ReplyException failure = ar.cause() instanceof ReplyException re ? re
            : new ReplyException(ReplyFailure.RECIPIENT_FAILURE, 500, String.valueOf(ar.cause().getMessage()));
        FrameHelper.sendErrFrame(address, replyAddress, failure, connection.socket);
      }
    });
  }

  private void register(Connection connection, String address) {
    if (connection.registered.containsKey(address)) {
      return;
    }
    connection.registered.put(address, vertx.eventBus().consumer(address, (Message<Object> m) -> {
      if (connection.claims != null && !access.current(connection.claims)) {
        // the token ran out or was revoked: nothing more is sent on it until the client brings a new one
        return;
      }
      if (connection.socket.writeQueueFull()) {
        // a client that does not read: its events would pile up here without bound
        LOG.warning("TCP bridge: " + connection.socket.remoteAddress() + " does not read its events; disconnected");
        connection.closed();
        connection.socket.close();
        return;
      }
      FrameHelper.sendFrame("message", m.address(), null, null, false, m.body(), connection.socket);
    }));
  }

  private static void unregister(Connection connection, String address) {
    MessageConsumer<Object> consumer = connection.registered.remove(address);
    if (consumer == null) {
      FrameHelper.sendErrFrame("unknown_address", connection.socket);
    } else {
      consumer.unregister();
    }
  }

  /** The frame's headers as the message's; timeout (ms) bounds the wait for a reply. */
  private static DeliveryOptions delivery(JsonObject headers) {
    DeliveryOptions options = new DeliveryOptions().setSendTimeout(DEFAULT_TIMEOUT_MS);
    headers.forEach(e -> {
      if (e.getKey().equals("timeout") && e.getValue() instanceof Number n) {
        options.setSendTimeout(Math.max(1, Math.min(MAX_TIMEOUT_MS, n.longValue())));
      } else if (e.getValue() instanceof String s) {
        options.addHeader(e.getKey(), s);
      }
    });
    // the frame's own x-request-id when it sent one (checked where it is read), else a fresh one
    return dev.switchboard.observe.RequestIds.fresh(options);
  }
}
