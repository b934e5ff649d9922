package dev.switchboard.testing;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import java.util.ArrayList;
import java.util.List;

/**
 * A loopback TCP relay in front of a real service (Redis, PostgreSQL), so a test can take the
 * service "down" and bring it back without stopping it for everyone else: {@link #down()} closes
 * the listener and every relayed connection, {@link #up()} listens again on the same port.
 */
public final class TcpProxy {

  private final Vertx vertx;
  private final String targetHost;
  private final int targetPort;
  private final NetClient client;
  private final List<NetSocket> open = new ArrayList<>();
  private NetServer server;
  private int port;

  private TcpProxy(Vertx vertx, String targetHost, int targetPort) {
    this.vertx = vertx;
    this.targetHost = targetHost;
    this.targetPort = targetPort;
    this.client = vertx.createNetClient();
  }

  public static Future<TcpProxy> start(Vertx vertx, String targetHost, int targetPort) {
    TcpProxy proxy = new TcpProxy(vertx, targetHost, targetPort);
    return proxy.listen(0).map(proxy);
  }

  public int port() {
    return port;
  }

  private Future<Void> listen(int on) {
    server = vertx.createNetServer().connectHandler(front -> {
      front.pause();
      client.connect(targetPort, targetHost).onComplete(ar -> {
        if (ar.failed()) {
          front.close();
          return;
        }
        NetSocket back = ar.result();
        synchronized (open) {
          open.add(front);
          open.add(back);
        }
        front.handler(back::write);
        back.handler(front::write);
        front.closeHandler(v -> back.close());
        back.closeHandler(v -> front.close());
        front.resume();
      });
    });
    return server.listen(on, "127.0.0.1").map(s -> {
      port = s.actualPort();
      return null;
    });
  }

  /** The service seems gone: no listener, every connection cut. */
  public Future<Void> down() {
    List<NetSocket> sockets;
    synchronized (open) {
      sockets = new ArrayList<>(open);
      open.clear();
    }
    sockets.forEach(NetSocket::close);
    return server.close();
  }

  /** The service is back, on the same port. */
  public Future<Void> up() {
    return listen(port);
  }
}
