package dev.switchboard.testing;

import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * A chat platform's webhook endpoint on loopback (Feishu, WeCom or a generic receiver): records
 * every request and answers with queued answers, then with a default one. The platform-specific
 * checks (signatures) are done by the tests, on what was recorded.
 */
public final class FakePlatform {

  /** One request as received, with the time it arrived. */
  public record Received(String path, String query, MultiMap headers, String body, long atMillis) {
    public JsonObject json() {
      return new JsonObject(body);
    }
  }

  private record Reply(int status, String body) {
  }

  private final List<Received> received = new ArrayList<>();
  private final Deque<Reply> queued = new ArrayDeque<>();
  private final Reply normal;
  private HttpServer server;

  private FakePlatform(String normalBody) {
    this.normal = new Reply(200, normalBody);
  }

  /** {@code normalBody}: what a successful push is answered with, e.g. {@code {"errcode":0,"errmsg":"ok"}}. */
  public static Future<FakePlatform> start(Vertx vertx, String normalBody) {
    FakePlatform fake = new FakePlatform(normalBody);
    return vertx.createHttpServer().requestHandler(req -> req.body().onSuccess(b -> {
      Reply reply;
      synchronized (fake) {
        fake.received.add(new Received(req.path(), req.query(), MultiMap.caseInsensitiveMultiMap().addAll(req.headers()),
            b.toString(), System.currentTimeMillis()));
        reply = fake.queued.isEmpty() ? fake.normal : fake.queued.poll();
      }
      req.response().setStatusCode(reply.status).putHeader("content-type", "application/json").end(reply.body);
    })).listen(0, "127.0.0.1").map(s -> {
      fake.server = s;
      return fake;
    });
  }

  /** The next push gets this answer instead of the normal one. */
  public synchronized FakePlatform thenAnswer(int status, String body) {
    queued.add(new Reply(status, body));
    return this;
  }

  public String url(String path) {
    return "http://127.0.0.1:" + server.actualPort() + path;
  }

  public synchronized List<Received> received() {
    return List.copyOf(received);
  }

  public Future<Void> close() {
    return server.close();
  }
}
