package dev.switchboard.channel;

import dev.switchboard.bus.Addresses;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.logging.Logger;

/**
 * DingTalk Stream mode for one app robot, so that a gateway without a public address still gets
 * its messages: register for a ticket, open the WebSocket, answer pings, acknowledge every frame by
 * its message id, hand robot messages to the same path as callbacks, and reconnect with backoff
 * (with a fresh ticket: tickets are single-use) whenever the connection ends.
 */
public final class DingTalkStreamVerticle extends VerticleBase {

  private static final Logger LOG = Logger.getLogger(DingTalkStreamVerticle.class.getName());
  static final String ROBOT_TOPIC = "/v1.0/im/bot/messages/get";
  static final long MAX_BACKOFF_MS = 60_000;
  static final long KEEPALIVE_MS = 30_000;
  /**
   * A robot message is a few KB (a callback is refused over 64 KB), and its frame carries it as a
   * JSON string, escaped. A larger message is dropped as it arrives instead of being gathered
   * (Vert.x would take 256 KB by default), and the connection goes on.
   */
  static final int MAX_FRAME_BYTES = 64 * 1024;
  static final int MAX_MESSAGE_BYTES = 128 * 1024;

  private final DingTalkApp app;
  private HttpClient http;
  private WebSocketClient sockets;
  private WebSocket socket;
  private long backoff = 500;
  private long keepalive = -1;
  private boolean stopping;
  private long lastSeen;

  public DingTalkStreamVerticle(DingTalkApp app) {
    this.app = app;
  }

  @Override
  public Future<?> start() {
    http = vertx.createHttpClient();
    sockets = vertx.createWebSocketClient(new WebSocketClientOptions()
        .setMaxFrameSize(MAX_FRAME_BYTES)
        .setMaxMessageSize(MAX_MESSAGE_BYTES));
    connect();
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    stopping = true;
    vertx.cancelTimer(keepalive);
    Future<Void> closing = socket == null ? Future.succeededFuture() : socket.close();
    return closing.eventually(() -> sockets.close()).eventually(() -> http.close());
  }

  private void connect() {
    if (stopping) {
      return;
    }
    register()
        .compose(this::open)
        .onSuccess(ws -> {
          socket = ws;
          backoff = 500;
          LOG.info("dingtalk stream '" + app.name() + "' connected");
          lastSeen = System.currentTimeMillis();
          ws.textMessageHandler(text -> {
            lastSeen = System.currentTimeMillis();
            frame(text);
          });
          ws.pongHandler(pong -> lastSeen = System.currentTimeMillis());
          ws.closeHandler(v -> reconnect("connection closed"));
          ws.exceptionHandler(e -> {
            if (e instanceof IllegalStateException) {
              // Vert.x drops a message over MAX_MESSAGE_BYTES and says so here; the connection goes on
              LOG.warning("dingtalk stream '" + app.name() + "': message dropped: " + e.getMessage());
            } else {
              LOG.fine("dingtalk stream '" + app.name() + "': " + e.getMessage());
            }
          });
          vertx.cancelTimer(keepalive);
          keepalive = vertx.setPeriodic(KEEPALIVE_MS, id -> {
            if (socket == null || socket.isClosed()) {
              return;
            }
            if (System.currentTimeMillis() - lastSeen > 2 * KEEPALIVE_MS) {
              // nothing heard, not even a pong: a connection a NAT dropped stays "open" otherwise
              socket.close();
              return;
            }
            socket.writePing(Buffer.buffer("keepalive"));
          });
        })
        .onFailure(e -> reconnect(e.getMessage()));
  }

  private void reconnect(String why) {
    socket = null;
    vertx.cancelTimer(keepalive);
    if (stopping) {
      return;
    }
    long wait = backoff;
    backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
    LOG.warning("dingtalk stream '" + app.name() + "': " + why + "; reconnecting in " + wait + " ms");
    vertx.setTimer(wait, id -> connect());
  }

  /** {@code POST /v1.0/gateway/connections/open}: an endpoint and a single-use ticket. */
  private Future<JsonObject> register() {
    JsonObject body = new JsonObject()
        .put("clientId", app.appKey())
        .put("clientSecret", app.appSecret())
        .put("subscriptions", new JsonArray()
            .add(new JsonObject().put("type", "EVENT").put("topic", "*"))
            .add(new JsonObject().put("type", "CALLBACK").put("topic", ROBOT_TOPIC)))
        .put("ua", "switchboard/0.1");
    RequestOptions options = new RequestOptions()
        .setMethod(HttpMethod.POST)
        .setAbsoluteURI(app.apiBase() + "/v1.0/gateway/connections/open")
        .setConnectTimeout(10_000)
        .setIdleTimeout(10_000)
        .putHeader("Content-Type", "application/json")
        .putHeader("Accept", "application/json");
    return http.request(options)
        .compose(r -> r.send(body.toBuffer()))
        .compose(r -> Bodies.read(r, Bodies.MAX_TOKEN_BYTES, "the registration answer").map(b -> {
          if (r.statusCode() != 200) {
            throw new IllegalStateException("registration answered " + r.statusCode() + ": " + Texts.clip(b.toString(), 200));
          }
          JsonObject answer = b.toJsonObject();
          if (answer.getString("endpoint") == null || answer.getString("ticket") == null) {
            throw new IllegalStateException("registration answer has no endpoint or ticket");
          }
          return answer;
        }));
  }

  private Future<WebSocket> open(JsonObject registration) {
    String uri = registration.getString("endpoint") + "?ticket="
        + URLEncoder.encode(registration.getString("ticket"), StandardCharsets.UTF_8);
    return sockets.connect(new WebSocketConnectOptions().setAbsoluteURI(uri).setTimeout(10_000));
  }

  /** A frame as read off the socket; {@code message} is the robot message it carries, when it does. */
  private record Frame(String type, String topic, String messageId, String data, JsonObject message) {
  }

  /**
   * Every frame is acknowledged by its message id; pings echo their data; robot messages go on.
   * Frames are parsed on a worker, in order (acks keep the order frames came in), so that a large
   * one never holds the event loop.
   */
  private void frame(String text) {
    vertx.executeBlocking(() -> read(text), true).onComplete(ar -> {
      if (ar.failed()) {
        LOG.warning("dingtalk stream '" + app.name() + "': unreadable frame: " + ar.cause().getMessage());
        return;
      }
      handle(ar.result());
    });
  }

  private static Frame read(String text) {
    JsonObject frame = new JsonObject(text);
    String type = frame.getValue("type") instanceof String t ? t : "";
    JsonObject headers = frame.getValue("headers") instanceof JsonObject h ? h : new JsonObject();
    String topic = headers.getValue("topic") instanceof String t ? t : "";
    String messageId = headers.getValue("messageId") instanceof String id ? id : null;
    String data = frame.getValue("data") instanceof String d ? d : "{}";
    JsonObject message = null;
    if ("CALLBACK".equals(type) && ROBOT_TOPIC.equals(topic)) {
      try {
        message = new JsonObject(data);
      } catch (RuntimeException e) {
        message = null;
      }
    }
    return new Frame(type, topic, messageId, data, message);
  }

  private void handle(Frame frame) {
    String type = frame.type();
    String messageId = frame.messageId();
    if ("SYSTEM".equals(type) && "disconnect".equals(frame.topic())) {
      // the server closes soon; a new ticket and connection follow from the close handler
      return;
    }
    if ("SYSTEM".equals(type)) {
      ack(messageId, frame.data());
      return;
    }
    if ("CALLBACK".equals(type) && ROBOT_TOPIC.equals(frame.topic())) {
      if (frame.message() == null) {
        LOG.warning("dingtalk stream '" + app.name() + "': robot message is not JSON");
        ack(messageId, new JsonObject().put("response", (Object) null).encode());
        return;
      }
      // acknowledged once the message is in the queue: a message we could not take is not lost
      vertx.eventBus().request(Addresses.CHANNEL_DINGTALK_MESSAGE, new JsonObject().put("bot", app.name()).put("message", frame.message()),
              dev.switchboard.observe.RequestIds.fresh(new io.vertx.core.eventbus.DeliveryOptions()))
          .onSuccess(v -> ack(messageId, new JsonObject().put("response", (Object) null).encode()))
          .onFailure(e -> LOG.warning("dingtalk stream '" + app.name() + "': message not taken: " + e.getMessage()));
      return;
    }
    // events are not acted on yet; saying so keeps them from being re-sent
    ack(messageId, new JsonObject().put("status", "SUCCESS").put("message", "ok").encode());
  }

  private void ack(String messageId, String data) {
    if (socket == null || messageId == null) {
      return;
    }
    socket.writeTextMessage(new JsonObject()
        .put("code", 200)
        .put("headers", new JsonObject().put("contentType", "application/json").put("messageId", messageId))
        .put("message", "OK")
        .put("data", data)
        .encode());
  }
}
