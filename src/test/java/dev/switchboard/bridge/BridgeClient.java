package dev.switchboard.bridge;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetSocket;
import io.vertx.core.parsetools.RecordParser;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A bridge client as another service would write one: the TCP bridge's length-prefixed JSON
 * frames, or SockJS's raw WebSocket with one JSON frame per text message. Frames received are
 * queued for the test to take in order.
 */
final class BridgeClient implements AutoCloseable {

  private final LinkedBlockingQueue<JsonObject> received = new LinkedBlockingQueue<>();
  private final List<JsonObject> skipped = new ArrayList<>();
  private volatile boolean closed;
  private NetSocket tcp;
  private WebSocket ws;

  static BridgeClient tcp(Vertx vertx, int port) throws Exception {
    BridgeClient client = new BridgeClient();
    client.tcp = vertx.createNetClient().connect(port, "127.0.0.1").await(10, TimeUnit.SECONDS);
    RecordParser parser = RecordParser.newFixed(4);
    boolean[] header = {true};
    parser.handler(chunk -> {
      if (header[0]) {
        header[0] = false;
        parser.fixedSizeMode(chunk.getInt(0));
      } else {
        header[0] = true;
        parser.fixedSizeMode(4);
        client.received.add(chunk.toJsonObject());
      }
    });
    client.tcp.handler(parser);
    client.tcp.closeHandler(v -> client.closed = true);
    return client;
  }

  /** SockJS's raw WebSocket endpoint, with the connect request's headers. */
  static BridgeClient sockjs(Vertx vertx, int port, String authorization) throws Exception {
    BridgeClient client = new BridgeClient();
    WebSocketConnectOptions options = new WebSocketConnectOptions().setHost("127.0.0.1").setPort(port)
        .setURI("/eventbus/websocket");
    if (authorization != null) {
      options.addHeader("Authorization", authorization);
    }
    client.ws = vertx.createWebSocketClient().connect(options).await(10, TimeUnit.SECONDS);
    // the raw transport writes the bridge's frames as binary messages
    client.ws.binaryMessageHandler(data -> client.received.add(data.toJsonObject()));
    client.ws.textMessageHandler(text -> client.received.add(new JsonObject(text)));
    client.ws.closeHandler(v -> client.closed = true);
    return client;
  }

  void send(JsonObject frame) throws Exception {
    if (tcp != null) {
      Buffer json = frame.toBuffer();
      tcp.write(Buffer.buffer().appendInt(json.length()).appendBuffer(json)).await(10, TimeUnit.SECONDS);
    } else {
      ws.writeTextMessage(frame.encode()).await(10, TimeUnit.SECONDS);
    }
  }

  static JsonObject frame(String type, String address, String token, Object body) {
    JsonObject frame = new JsonObject().put("type", type).put("address", address);
    if (token != null) {
      frame.put("headers", new JsonObject().put("authorization", "Bearer " + token));
    }
    if (body != null) {
      frame.put("body", body);
    }
    return frame;
  }

  /** The next frame that {@code wanted} accepts, within 15 s; the ones before it are kept aside. */
  JsonObject next(Predicate<JsonObject> wanted) throws InterruptedException {
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (System.nanoTime() < until) {
      JsonObject frame = received.poll(100, TimeUnit.MILLISECONDS);
      if (frame == null) {
        continue;
      }
      if (wanted.test(frame)) {
        return frame;
      }
      skipped.add(frame);
    }
    fail("no such frame within 15 s; received: " + skipped);
    return null;
  }

  /** The next frame, whatever it is. */
  JsonObject next() throws InterruptedException {
    JsonObject frame = next(f -> true);
    assertNotNull(frame);
    return frame;
  }

  /** Sends a ping and answers the frames that came before its pong: what the bridge said to everything before. */
  List<JsonObject> drain() throws Exception {
    List<JsonObject> before = new ArrayList<>(skipped);
    skipped.clear();
    send(new JsonObject().put("type", "ping"));
    if (ws != null) {
      // SockJS answers no pong over the bridge: wait a moment instead
      JsonObject frame;
      while ((frame = received.poll(500, TimeUnit.MILLISECONDS)) != null) {
        before.add(frame);
      }
      return before;
    }
    next(f -> "pong".equals(f.getString("type")));
    before.addAll(skipped);
    skipped.clear();
    return before;
  }

  /** The TCP client's socket (null over SockJS). */
  NetSocket socket() {
    return tcp;
  }

  int count() {
    return received.size();
  }

  boolean closed() {
    return closed;
  }

  @Override
  public void close() {
    if (tcp != null) {
      tcp.close();
    }
    if (ws != null) {
      ws.close();
    }
  }
}
