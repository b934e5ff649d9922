package dev.switchboard.bridge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetSocket;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("TCP event-bus bridge")
class TcpBridgeTest extends BridgeBehaviour {

  @Override
  BridgeClient connect() throws Exception {
    return BridgeClient.tcp(vertx, tcpPort);
  }

  @Override
  boolean denied(JsonObject frame) {
    return "err".equals(frame.getString("type")) && "access_denied".equals(frame.getString("message"));
  }

  @Override
  boolean message(JsonObject frame, String address) {
    return "message".equals(frame.getString("type")) && address.equals(frame.getString("address"));
  }

  @Test
  @DisplayName("a ping is answered with a pong, token or not")
  void ping() throws Exception {
    client.send(new JsonObject().put("type", "ping"));
    assertEquals("pong", client.next().getString("type"));
  }

  @Test
  @DisplayName("a frame announcing more than server.max_body_size is refused and the connection closed, before its bytes are buffered")
  void oversizedFrameCloses() throws Exception {
    NetSocket raw = vertx.createNetClient().connect(tcpPort, "127.0.0.1").await(10, TimeUnit.SECONDS);
    boolean[] closed = {false};
    raw.closeHandler(v -> closed[0] = true);
    raw.write(Buffer.buffer().appendInt(Integer.MAX_VALUE)).await(10, TimeUnit.SECONDS);
    long until = System.currentTimeMillis() + 10_000;
    while (!closed[0] && System.currentTimeMillis() < until) {
      Thread.sleep(50);
    }
    assertTrue(closed[0]);
  }

  @Test
  @DisplayName("a client that stops reading is disconnected once its unread events fill the write queue, instead of piling up in the gateway")
  void slowReaderIsDisconnected() throws Exception {
    client.send(BridgeClient.frame("register", PublicApi.TASKS_EVENTS, token("alice"), null));
    client.drain();
    NetSocket socket = client.socket();
    socket.pause();
    String filler = "x".repeat(16 * 1024);
    for (int i = 0; i < 2_000; i++) {
      gateway.vertx().eventBus().publish(PublicApi.TASKS_EVENTS, new JsonObject().put("id", "t" + i).put("result", filler));
    }
    Thread.sleep(1_000);
    socket.resume();
    long until = System.currentTimeMillis() + 30_000;
    while (!client.closed() && System.currentTimeMillis() < until) {
      Thread.sleep(100);
    }
    assertTrue(client.closed(), "still connected");
    assertTrue(client.count() < 2_000, "every event was kept for the client that did not read: " + client.count());
  }
}
