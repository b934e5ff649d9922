package dev.switchboard.channel;

import dev.switchboard.bus.Addresses;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.logging.Logger;

/**
 * Feishu/Lark long-connection mode for one app (protocols §5.8), so that a gateway without a
 * public address still gets its events: ask the endpoint API for a WebSocket URL with the app's
 * id and secret, open it, ping at the interval the server says, acknowledge each event (200 once
 * it is handled, 500 when it could not be, which Feishu pushes again), join events that come in
 * parts, and reconnect, always through a fresh endpoint (the URL is per connection), when the
 * connection ends. Events go to the same handling as the webhook's decrypted ones.
 */
public final class FeishuLongConnectionVerticle extends VerticleBase {

  private static final Logger LOG = Logger.getLogger(FeishuLongConnectionVerticle.class.getName());
  /** An event is refused over the webhook's bound; a frame carries at most one plus its header. */
  static final int MAX_MESSAGE_BYTES = FeishuApp.MAX_BODY_BYTES + 16 * 1024;
  /** Parts of an event that never completes are dropped after this (Feishu pushes it again). */
  static final long PARTS_TTL_MS = 30_000;
  /** Events in parts gathered at once; a server that starts more has the oldest dropped. */
  static final int MAX_PENDING_PARTS = 32;
  /** Feishu re-pushes an event not acknowledged within 3 s; a handler slower than this is a failure. */
  static final long HANDLE_TIMEOUT_MS = 10_000;
  /** The first wait between failed attempts; doubles up to the server's reconnect interval. */
  static final long FIRST_RETRY_MS = 1_000;
  /** Connection limit reached: SDKs give up; we keep trying at the reconnect interval, loudly. */
  static final int EXCEEDED_CONNECTIONS = 1000040350;

  /** What the server tells the client (seconds); SDK defaults until it does. */
  record ClientConfig(int reconnectCount, int reconnectInterval, int reconnectNonce, int pingInterval) {
    static final ClientConfig DEFAULT = new ClientConfig(-1, 120, 30, 120);

    ClientConfig with(JsonObject json) {
      return new ClientConfig(positiveOr(json, "ReconnectCount", reconnectCount, true),
          positiveOr(json, "ReconnectInterval", reconnectInterval, false),
          positiveOr(json, "ReconnectNonce", reconnectNonce, false),
          positiveOr(json, "PingInterval", pingInterval, false));
    }

    /** {@code negativeOk}: ReconnectCount -1 means for ever; other values must be usable. */
    private static int positiveOr(JsonObject json, String key, int otherwise, boolean negativeOk) {
      Object v = json.getValue(key);
      if (!(v instanceof Number n)) {
        return otherwise;
      }
      int i = n.intValue();
      return negativeOk || i > 0 || key.equals("ReconnectNonce") && i == 0 ? i : otherwise;
    }
  }

  /** An event that comes in {@code sum} parts, gathered by message id. */
  private static final class Parts {
    final byte[][] parts;
    final long startedAt = System.currentTimeMillis();
    int received;
    long bytes;

    Parts(int sum) {
      parts = new byte[sum][];
    }
  }

  private final FeishuApp app;
  private HttpClient http;
  private WebSocketClient sockets;
  private WebSocket socket;
  private ClientConfig config = ClientConfig.DEFAULT;
  private int service;
  private int failures;
  private long pinger = -1;
  private long lastSeen;
  private boolean stopping;
  private final Map<String, Parts> gathering = new HashMap<>();

  public FeishuLongConnectionVerticle(FeishuApp app) {
    this.app = app;
  }

  @Override
  public Future<?> start() {
    http = vertx.createHttpClient();
    sockets = vertx.createWebSocketClient(new WebSocketClientOptions()
        .setMaxFrameSize(MAX_MESSAGE_BYTES)
        .setMaxMessageSize(MAX_MESSAGE_BYTES));
    connect();
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    stopping = true;
    vertx.cancelTimer(pinger);
    Future<Void> closing = socket == null ? Future.succeededFuture() : socket.close();
    return closing.eventually(() -> sockets.close()).eventually(() -> http.close());
  }

  private void connect() {
    if (stopping) {
      return;
    }
    endpoint()
        .compose(this::open)
        .onSuccess(ws -> {
          if (stopping) {
            ws.close();
            return;
          }
          socket = ws;
          failures = 0;
          LOG.info("feishu long connection '" + app.name() + "' connected");
          lastSeen = System.currentTimeMillis();
          ws.binaryMessageHandler(data -> {
            lastSeen = System.currentTimeMillis();
            frame(ws, data);
          });
          ws.closeHandler(v -> reconnect("connection closed" + (ws.closeReason() != null ? ": " + ws.closeReason() : "")));
          ws.exceptionHandler(e -> LOG.fine("feishu long connection '" + app.name() + "': " + e.getMessage()));
          ping();
          schedulePings();
        })
        .onFailure(e -> reconnect(e.getMessage()));
  }

  /**
   * The wait before the next attempt: right after a connection ended, a random part of the
   * server's nonce (so that many clients do not come back at once); after failed attempts,
   * doubling from a second up to the server's reconnect interval.
   */
  private void reconnect(String why) {
    socket = null;
    vertx.cancelTimer(pinger);
    if (stopping) {
      return;
    }
    failures++;
    if (config.reconnectCount() >= 0 && failures > config.reconnectCount()) {
      LOG.severe("feishu long connection '" + app.name() + "': " + why + "; giving up after "
          + config.reconnectCount() + " reconnects, as the server's ReconnectCount says (restart the gateway to try again)");
      return;
    }
    long wait = failures == 1
        ? ThreadLocalRandom.current().nextLong(config.reconnectNonce() * 1000L + 1)
        : Math.min(config.reconnectInterval() * 1000L, FIRST_RETRY_MS << Math.min(20, failures - 2));
    LOG.warning("feishu long connection '" + app.name() + "': " + why + "; reconnecting in " + wait + " ms");
    vertx.setTimer(Math.max(1, wait), id -> connect());
  }

  private void schedulePings() {
    vertx.cancelTimer(pinger);
    long every = config.pingInterval() * 1000L;
    pinger = vertx.setPeriodic(every, id -> {
      if (socket == null || socket.isClosed()) {
        return;
      }
      if (System.currentTimeMillis() - lastSeen > 3 * every) {
        // not even a pong: a connection a NAT dropped stays "open" otherwise
        socket.close();
        return;
      }
      ping();
    });
  }

  private void ping() {
    if (socket != null) {
      socket.writeBinaryMessage(Buffer.buffer(FeishuFrame.ping(service).encode()));
    }
  }

  /** {@code POST /callback/ws/endpoint}: the URL of one connection, and the client configuration. */
  private Future<String> endpoint() {
    JsonObject body = new JsonObject().put("AppID", app.appId()).put("AppSecret", app.appSecret());
    RequestOptions options = new RequestOptions()
        .setMethod(HttpMethod.POST)
        .setAbsoluteURI(app.baseUrl() + "/callback/ws/endpoint")
        .setConnectTimeout(10_000)
        .setIdleTimeout(10_000)
        .putHeader("Content-Type", "application/json")
        .putHeader("locale", "zh");
    return http.request(options)
        .compose(r -> r.send(body.toBuffer()))
        .compose(r -> Bodies.read(r, Bodies.MAX_TOKEN_BYTES, "the endpoint answer").map(b -> {
          JsonObject answer;
          try {
            answer = b.toJsonObject();
          } catch (RuntimeException e) {
            throw new IllegalStateException("endpoint answered " + r.statusCode() + ", not JSON: " + Texts.clip(b.toString(), 200));
          }
          int code = answer.getValue("code") instanceof Number n ? n.intValue() : -1;
          if (code != 0) {
            String msg = "endpoint answered code " + code + " (" + Texts.clip(String.valueOf(answer.getValue("msg")), 200) + ")";
            if (code == EXCEEDED_CONNECTIONS) {
              LOG.severe("feishu long connection '" + app.name() + "': the app has as many connections as Feishu allows (50)");
            }
            throw new IllegalStateException(msg);
          }
          JsonObject data = answer.getValue("data") instanceof JsonObject d ? d : new JsonObject();
          if (!(data.getValue("URL") instanceof String url) || url.isBlank()) {
            throw new IllegalStateException("endpoint answer has no URL");
          }
          if (data.getValue("ClientConfig") instanceof JsonObject c) {
            config = config.with(c);
          }
          service = serviceId(url);
          return url;
        }));
  }

  /** The {@code service_id} query parameter of the connection URL, which every ping carries. */
  static int serviceId(String url) {
    String query = URI.create(url).getRawQuery();
    if (query != null) {
      for (String pair : query.split("&")) {
        if (pair.startsWith("service_id=")) {
          try {
            return Integer.parseInt(pair.substring("service_id=".length()));
          } catch (NumberFormatException e) {
            return 0;
          }
        }
      }
    }
    return 0;
  }

  private Future<WebSocket> open(String url) {
    return sockets.connect(new WebSocketConnectOptions().setAbsoluteURI(url).setTimeout(10_000))
        .recover(e -> {
          if (e instanceof UpgradeRejectedException rejected) {
            // the server says why in headers: 403 forbidden, 514 auth failed, …
            var h = rejected.getHeaders();
            return Future.failedFuture("handshake refused (" + rejected.getStatus() + ")"
                + (h == null ? "" : ": status " + h.get("handshake-status") + ", " + h.get("handshake-msg")
                + (h.get("handshake-autherrcode") != null ? ", auth error " + h.get("handshake-autherrcode") : "")));
          }
          return Future.failedFuture(e);
        });
  }

  private void frame(WebSocket ws, Buffer data) {
    FeishuFrame frame;
    try {
      frame = FeishuFrame.decode(data.getBytes());
    } catch (IllegalArgumentException e) {
      LOG.warning("feishu long connection '" + app.name() + "': unreadable frame: " + e.getMessage());
      return;
    }
    String type = String.valueOf(frame.header("type"));
    if (frame.method() == FeishuFrame.CONTROL) {
      if ("pong".equals(type) && frame.payload() != null && frame.payload().length > 0) {
        applyConfig(frame.payload());
      }
      return;
    }
    if (frame.method() != FeishuFrame.DATA) {
      return;
    }
    long started = System.currentTimeMillis();
    byte[] payload = whole(frame);
    if (payload == null) {
      return; // more parts to come: the frame that completes the event is the one acknowledged
    }
    if (!"event".equals(type)) {
      // card callbacks and whatever comes later: nothing here acts on them, and saying so keeps them from coming again
      ack(ws, frame, 200, started);
      return;
    }
    vertx.executeBlocking(() -> new JsonObject(new String(payload, StandardCharsets.UTF_8)), true)
        .compose(event -> vertx.eventBus().request(Addresses.CHANNEL_FEISHU_EVENT,
            new JsonObject().put("bot", app.name()).put("event", event),
            dev.switchboard.observe.RequestIds.fresh(new DeliveryOptions().setSendTimeout(HANDLE_TIMEOUT_MS))))
        .onSuccess(v -> ack(ws, frame, 200, started))
        .onFailure(e -> {
          LOG.warning("feishu long connection '" + app.name() + "': event not taken: " + e.getMessage());
          ack(ws, frame, 500, started);
        });
  }

  private void applyConfig(byte[] payload) {
    try {
      ClientConfig before = config;
      config = config.with(new JsonObject(new String(payload, StandardCharsets.UTF_8)));
      if (config.pingInterval() != before.pingInterval()) {
        schedulePings();
      }
    } catch (RuntimeException e) {
      LOG.fine("feishu long connection '" + app.name() + "': pong payload is not a configuration: " + e.getMessage());
    }
  }

  /**
   * The payload of an event: this frame's, or, when it is one of {@code sum} parts, all of them
   * joined by {@code seq} once the last has come (null until then).
   */
  private byte[] whole(FeishuFrame frame) {
    byte[] payload = frame.payload() == null ? new byte[0] : frame.payload();
    int sum = frame.intHeader("sum", 1);
    if (sum <= 1) {
      return payload;
    }
    String id = frame.header("message_id");
    int seq = frame.intHeader("seq", -1);
    if (id == null || seq < 0 || seq >= sum || sum > 1024) {
      LOG.warning("feishu long connection '" + app.name() + "': part " + seq + " of " + sum + " without a usable message id, dropped");
      return null;
    }
    long now = System.currentTimeMillis();
    gathering.values().removeIf(p -> now - p.startedAt > PARTS_TTL_MS);
    Parts parts = gathering.get(id);
    if (parts == null) {
      if (gathering.size() >= MAX_PENDING_PARTS) {
        Iterator<Map.Entry<String, Parts>> oldest = gathering.entrySet().stream()
            .sorted(Map.Entry.comparingByValue(java.util.Comparator.comparingLong(p -> p.startedAt))).iterator();
        gathering.remove(oldest.next().getKey());
      }
      parts = new Parts(sum);
      gathering.put(id, parts);
    }
    if (parts.parts.length != sum) {
      gathering.remove(id);
      LOG.warning("feishu long connection '" + app.name() + "': event " + id + " changed its number of parts, dropped");
      return null;
    }
    if (parts.parts[seq] == null) {
      parts.parts[seq] = payload;
      parts.received++;
      parts.bytes += payload.length;
    }
    if (parts.bytes > FeishuApp.MAX_BODY_BYTES) {
      gathering.remove(id);
      LOG.warning("feishu long connection '" + app.name() + "': event " + id + " is over "
          + FeishuApp.MAX_BODY_BYTES / 1024 + " KB, dropped");
      return null;
    }
    if (parts.received < sum) {
      return null;
    }
    gathering.remove(id);
    byte[] joined = new byte[(int) parts.bytes];
    int at = 0;
    for (byte[] p : parts.parts) {
      System.arraycopy(p, 0, joined, at, p.length);
      at += p.length;
    }
    return joined;
  }

  /** The same frame back, its payload {@code {"code":…}}, with {@code biz_rt}: how long the handling took, in ms. */
  private void ack(WebSocket ws, FeishuFrame frame, int code, long started) {
    if (ws.isClosed()) {
      return; // Feishu pushes an unacknowledged event again, to whichever connection it picks
    }
    byte[] payload = ("{\"code\":" + code + "}").getBytes(StandardCharsets.UTF_8);
    ws.writeBinaryMessage(Buffer.buffer(frame.answer(payload,
        new FeishuFrame.Header("biz_rt", String.valueOf(System.currentTimeMillis() - started))).encode()));
  }
}
