package dev.switchboard.testing;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A chat platform's webhook endpoint on loopback (Feishu, WeCom or a generic receiver): records
 * every request and answers with queued answers, then with a default one. The platform-specific
 * checks (signatures) are done by the tests, on what was recorded.
 *
 * <p>For fault tests it can answer late ({@link #answerAfter}) or not until told ({@link #hold},
 * {@link #release}), and it knows which requests it has received but not answered yet
 * ({@link #inFlight}): the pushes a crash of the sender leaves on the wire.
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

  /** A request waiting for its answer, and where to send it from. */
  private record Pending(Received received, HttpServerRequest request, Reply reply, Context context, boolean held) {
  }

  private final Vertx vertx;
  private final List<Received> received = new ArrayList<>();
  private final Deque<Reply> queued = new ArrayDeque<>();
  /** Received and not yet answered (nor abandoned by the sender), in arrival order. */
  private final Map<HttpServerRequest, Pending> pending = new LinkedHashMap<>();
  private final Reply normal;
  private Duration delay = Duration.ZERO;
  private boolean holding;
  private HttpServer server;

  private FakePlatform(Vertx vertx, String normalBody) {
    this.vertx = vertx;
    this.normal = new Reply(200, normalBody);
  }

  /** {@code normalBody}: what a successful push is answered with, e.g. {@code {"errcode":0,"errmsg":"ok"}}. */
  public static Future<FakePlatform> start(Vertx vertx, String normalBody) {
    FakePlatform fake = new FakePlatform(vertx, normalBody);
    return vertx.createHttpServer().requestHandler(fake::handle).listen(0, "127.0.0.1").map(s -> {
      fake.server = s;
      return fake;
    });
  }

  private void handle(HttpServerRequest req) {
    Context context = vertx.getOrCreateContext();
    req.body().onSuccess(b -> {
      Pending p;
      boolean now;
      long wait;
      synchronized (this) {
        Received r = new Received(req.path(), req.query(), MultiMap.caseInsensitiveMultiMap().addAll(req.headers()),
            b.toString(), System.currentTimeMillis());
        received.add(r);
        p = new Pending(r, req, queued.isEmpty() ? normal : queued.poll(), context, holding);
        pending.put(req, p);
        now = !holding && delay.isZero();
        wait = holding ? -1 : delay.toMillis();
      }
      // a sender that goes away (closes, resets, dies) leaves nothing in flight here
      req.response().closeHandler(v -> abandon(req));
      if (now) {
        answer(p);
      } else if (wait > 0) {
        vertx.setTimer(wait, id -> answer(p));
      }
    });
  }

  private synchronized void abandon(HttpServerRequest req) {
    pending.remove(req);
  }

  private void answer(Pending p) {
    synchronized (this) {
      if (pending.remove(p.request()) == null) {
        return;
      }
    }
    p.request().response().setStatusCode(p.reply().status).putHeader("content-type", "application/json").end(p.reply().body);
  }

  /** The next push gets this answer instead of the normal one. */
  public synchronized FakePlatform thenAnswer(int status, String body) {
    queued.add(new Reply(status, body));
    return this;
  }

  /** Every request is answered this long after it arrived. */
  public synchronized FakePlatform answerAfter(Duration delay) {
    this.delay = delay;
    return this;
  }

  /** From now on requests are received and kept waiting, unanswered, until {@link #release()}. */
  public synchronized FakePlatform hold() {
    holding = true;
    return this;
  }

  /** Answers every request kept waiting, and answers later ones as usual again. */
  public FakePlatform release() {
    List<Pending> waiting;
    synchronized (this) {
      holding = false;
      waiting = new ArrayList<>(pending.values());
    }
    for (Pending p : waiting) {
      p.context().runOnContext(v -> answer(p));
    }
    return this;
  }

  /** Requests received and not answered yet, whose sender is still connected: what is on the wire. */
  public synchronized List<Received> inFlight() {
    return pending.values().stream().map(Pending::received).toList();
  }

  /** Requests that arrived while holding and wait for {@link #release()}. */
  public synchronized List<Received> held() {
    return pending.values().stream().filter(Pending::held).map(Pending::received).toList();
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
