package dev.switchboard.ingress;

import dev.switchboard.observe.Metrics;

import dev.switchboard.bus.Failure;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.impl.VertxHttpRequestDecoder;
import io.vertx.core.net.impl.ConnectionBase;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What happens to a connection before the router sees a request on it, and between requests:
 * <ul>
 *   <li>a new connection must deliver its first request's headers within {@code header_timeout},
 *       and a kept-alive one its next request's headers within {@code idle_timeout} of the last
 *       response, or it is closed: a client trickling one byte at a time cannot hold it;</li>
 *   <li>a request's whole body must arrive within {@code body_timeout} of its headers, or it gets
 *       408 and the connection is closed: webhook routes need no token, so without this bound a
 *       client trickling body bytes could hold connections up to {@code max_connections};</li>
 *   <li>over {@code max_connections} open connections, requests get 503 and the connection is
 *       closed, so the process keeps descriptors for {@code /healthz} and its own work;</li>
 *   <li>HTTP/1.1 framing that cannot be answered safely (no or several {@code Host}, both
 *       {@code Content-Length} and {@code Transfer-Encoding}, a transfer coding other than
 *       chunked, an expectation other than {@code 100-continue}, a malformed head or chunked
 *       body) gets its 4xx at once and the connection is closed, as RFC 9112 asks;</li>
 *   <li>a response sent before its request's body was read closes the connection: the unread
 *       rest would otherwise be taken for the next request. The rest is read and dropped for a
 *       moment first ({@link #LINGER}), because closing on unread bytes resets the connection and
 *       the client may lose the answer with it.</li>
 *   <li>once a response has said {@code Connection: close}, nothing after it on that connection is
 *       served (RFC 9112 §9.6): Vert.x hands a pipelined request to the handler as soon as the
 *       refusal ends, before the connection can be closed, and after a refused transfer coding
 *       those bytes are what a proxy took for the body, i.e. a smuggled request.</li>
 * </ul>
 * Everything here runs on the server's event loop.
 */
final class ConnectionGuard {

  /**
   * How long, and for how many bytes, a refused body is read and dropped before the connection
   * closes. vertx-web refuses a declared length over the limit before reading any of it, so the
   * byte bound must hold a body a few MB over the 4 MB default, or a client that sent 5 MB would
   * see a reset instead of its 413 (and an OpenAI SDK would retry it); the time bound is what
   * stops a slow sender.
   */
  static final Duration LINGER = Duration.ofSeconds(2);
  static final long LINGER_BYTES = 16L * 1024 * 1024;

  private final Vertx vertx;
  private final ServerSettings settings;
  private final HttpServerOptions options;
  private final Map<HttpConnection, State> connections = new ConcurrentHashMap<>();
  private final AtomicInteger open = new AtomicInteger();

  /** One connection's timers and the request it is serving. */
  private static final class State {
    final boolean overCap;
    /** The header or idle timer. */
    long timer = -1;
    /** The body timer of the request whose body is being received. */
    long bodyTimer = -1;
    int inFlight;
    HttpServerRequest current;
    /** A response has said {@code Connection: close}: no further request is served. */
    boolean closing;

    State(boolean overCap) {
      this.overCap = overCap;
    }
  }

  ConnectionGuard(Vertx vertx, ServerSettings settings, HttpServerOptions options) {
    this.vertx = vertx;
    this.settings = settings;
    this.options = options;
  }

  void connected(HttpConnection conn) {
    State state = new State(open.incrementAndGet() > settings.maxConnections());
    connections.put(conn, state);
    strictDecoder(conn);
    arm(conn, state, settings.headerTimeout());
    conn.closeHandler(v -> {
      open.decrementAndGet();
      State s = connections.remove(conn);
      if (s != null) {
        cancel(s);
        cancelBody(s, s.bodyTimer);
      }
    });
    conn.exceptionHandler(t -> malformedBody(state, t));
  }

  /** The request handler in front of {@code next}: limits and framing checks first. */
  Handler<HttpServerRequest> gate(Handler<HttpServerRequest> next) {
    Metrics metrics = Metrics.current();
    return request -> {
      metrics.httpRequest(request.version());
      State state = connections.get(request.connection());
      if (state != null && state.closing) {
        refusePipelined(request);
        return;
      }
      if (state != null) {
        cancel(state);
        state.inFlight++;
        state.current = request;
        if (state.overCap) {
          // closed at once, body or not: this connection is one too many
          request.response().putHeader(HttpHeaderNames.RETRY_AFTER, "1");
          reject(request, Failure.unavailable("too_many_connections", "the gateway has " + settings.maxConnections()
              + " connections open (server.max_connections); try again shortly"), false);
          return;
        }
      }
      Failure problem = framing(request);
      if (problem != null) {
        // no body framing to trust (the next bytes may be a smuggled request): closed at once
        reject(request, problem, false);
        return;
      }
      if (declaresBody(request)) {
        // nothing reads the body until a body handler asks for it: a request refused before
        // that (401, 404) costs no more than its head
        request.pause();
        if (state != null && request.version() != HttpVersion.HTTP_2) {
          // one body at a time on an HTTP/1.x connection: one timer per connection is enough
          bodyDeadline(request, state);
        }
      }
      next.handle(request);
    };
  }

  /** A request whose head could not be decoded at all. */
  void invalid(HttpServerRequest request) {
    State state = connections.get(request.connection());
    if (state != null && state.closing) {
      refusePipelined(request);
      return;
    }
    Throwable cause = request.decoderResult().cause();
    String why = cause == null || cause.getMessage() == null ? "malformed request" : cause.getMessage();
    Failure failure;
    if (cause instanceof TooLongHttpLineException) {
      failure = new Failure(414, "invalid_request_error", "uri_too_long", "request line too long: " + why);
    } else if (cause instanceof TooLongHttpHeaderException) {
      failure = new Failure(431, "invalid_request_error", "headers_too_large", "request headers too large: " + why);
    } else if (StrictRequestDecoder.CONFLICTING_FRAMING.equals(why)) {
      failure = Failure.badRequest("conflicting_framing", "request has " + why + " (send one of them)");
    } else {
      failure = Failure.badRequest("malformed_request", "malformed HTTP request: " + why);
    }
    // its framing cannot be trusted: closed as soon as the answer is out (closeWhenDrained)
    reject(request, failure, true);
  }

  /**
   * Marks {@code request}'s connection as ending with the response about to be sent (one that
   * says {@code Connection: close}). Call it before that response ends: ending it is what makes
   * Vert.x hand over a pipelined request.
   */
  void lastOnConnection(HttpServerRequest request) {
    State state = connections.get(request.connection());
    if (state != null) {
      state.closing = true;
    }
  }

  /** A request that arrived behind a {@code Connection: close} answer: not served, the connection closed. */
  private static void refusePipelined(HttpServerRequest request) {
    request.routed(HttpIngressVerticle.UNMATCHED);
    request.connection().close();
  }

  /**
   * Arms {@code server.body_timeout} for a request that declares a body: cancelled when the body
   * has arrived; on expiry the request gets 408 and the connection is closed (whatever is
   * still to come of the body is not waited for).
   */
  private void bodyDeadline(HttpServerRequest request, State state) {
    cancelBody(state, state.bodyTimer);
    long timer = vertx.setTimer(settings.bodyTimeout().toMillis(), id -> {
      if (state.bodyTimer == id) {
        state.bodyTimer = -1;
      }
      bodyTooSlow(request);
    });
    state.bodyTimer = timer;
    Future<Void> ended;
    try {
      ended = request.end();
    } catch (IllegalStateException alreadyEnded) {
      ended = Future.succeededFuture();
    }
    // a failed end (the connection went) cancels it too
    ended.onComplete(ar -> cancelBody(state, timer));
  }

  private void bodyTooSlow(HttpServerRequest request) {
    HttpServerResponse response = request.response();
    if (response.headWritten() || response.ended() || response.closed()) {
      // answered already (refused before its body, or answering while it uploads): just stop waiting
      request.connection().close();
      return;
    }
    answerAndClose(request, new Failure(408, "invalid_request_error", "request_timeout",
        "the request body did not arrive within " + written(settings.bodyTimeout()) + " (server.body_timeout)"),
        false);
  }

  /** A duration as the configuration writes it: 30s, 1500ms. */
  private static String written(Duration d) {
    long ms = d.toMillis();
    return ms % 1000 == 0 ? ms / 1000 + "s" : ms + "ms";
  }

  private void cancelBody(State state, long timer) {
    if (timer >= 0 && state.bodyTimer == timer) {
      vertx.cancelTimer(timer);
      state.bodyTimer = -1;
    }
  }

  /** Called once a response has ended, whatever its handler. */
  void responded(HttpServerRequest request) {
    HttpConnection conn = request.connection();
    State state = connections.get(conn);
    if (state == null) {
      return;
    }
    state.inFlight = Math.max(0, state.inFlight - 1);
    if (state.inFlight == 0) {
      state.current = null;
    }
    if (request.response().getStatusCode() == 101) {
      // upgraded (a WebSocket): no more requests come on it, and it keeps its own liveness
      cancel(state);
      connections.remove(conn);
      return;
    }
    if (!bodyRead(request)) {
      closeWhenDrained(vertx, request);
    } else if (state.inFlight == 0 && request.version() != HttpVersion.HTTP_2) {
      arm(conn, state, settings.idleTimeout());
    }
  }

  /** Whether the request's body (if it declared one) has been read to the end. */
  static boolean bodyRead(HttpServerRequest request) {
    return !declaresBody(request) || request.isEnded();
  }

  static boolean declaresBody(HttpServerRequest request) {
    if (request.headers().contains(HttpHeaderNames.TRANSFER_ENCODING)) {
      return true;
    }
    String length = request.getHeader(HttpHeaderNames.CONTENT_LENGTH);
    return length != null && !length.isBlank() && !"0".equals(length.trim());
  }

  /**
   * Answers {@code failure} to a request refused before routing and closes the connection: at
   * once, or ({@code drain}) once the body the client may still be sending has been read and dropped.
   */
  private void reject(HttpServerRequest request, Failure failure, boolean drain) {
    request.routed(HttpIngressVerticle.UNMATCHED);
    answerAndClose(request, failure, drain);
  }

  /** {@link #reject} without touching the route label (a request already routed, e.g. its body too slow). */
  private void answerAndClose(HttpServerRequest request, Failure failure, boolean drain) {
    HttpServerResponse response = request.response();
    if (response.ended() || response.closed()) {
      return;
    }
    lastOnConnection(request);
    response.setStatusCode(failure.status())
        .putHeader(HttpHeaderNames.CONTENT_TYPE, "application/json")
        .putHeader(HttpHeaderNames.CONNECTION, "close")
        .end(failure.toJson().toBuffer())
        .onComplete(ar -> {
          if (drain) {
            closeWhenDrained(vertx, request);
          }
        });
    if (!drain) {
      // closing through the connection flushes the answer first
      request.connection().close();
    }
  }

  /**
   * Closes the connection of a request that was answered before its body was read, once the
   * body has arrived (and been dropped) or after {@link #LINGER} / {@link #LINGER_BYTES}. A
   * request whose body was read, or whose framing is broken, closes at once.
   */
  static void closeWhenDrained(Vertx vertx, HttpServerRequest request) {
    HttpConnection conn = request.connection();
    if (bodyRead(request) || !request.decoderResult().isSuccess()) {
      conn.close();
      return;
    }
    long[] dropped = {0};
    long timer = vertx.setTimer(LINGER.toMillis(), id -> conn.close());
    try {
      request.handler(data -> {
        dropped[0] += data.length();
        if (dropped[0] > LINGER_BYTES) {
          vertx.cancelTimer(timer);
          conn.close();
        }
      });
      request.endHandler(v -> {
        vertx.cancelTimer(timer);
        conn.close();
      });
      request.resume();
    } catch (IllegalStateException ended) {
      vertx.cancelTimer(timer);
      conn.close();
    }
  }

  private Failure framing(HttpServerRequest request) {
    if (request.version() == HttpVersion.HTTP_2) {
      return null;
    }
    List<String> hosts = request.headers().getAll(HttpHeaderNames.HOST);
    if (request.version() == HttpVersion.HTTP_1_1 && hosts.isEmpty()) {
      return Failure.badRequest("missing_host", "HTTP/1.1 requests must have a Host header");
    }
    if (hosts.size() > 1) {
      return Failure.badRequest("invalid_host", "a request must have one Host header, not " + hosts.size());
    }
    List<String> codings = request.headers().getAll(HttpHeaderNames.TRANSFER_ENCODING);
    if (!codings.isEmpty()) {
      String all = String.join(",", codings);
      String last = all.substring(all.lastIndexOf(',') + 1).trim();
      if (request.version() == HttpVersion.HTTP_1_0 || !"chunked".equalsIgnoreCase(last)) {
        return Failure.badRequest("unsupported_transfer_encoding",
            "Transfer-Encoding '" + all + "' is not supported: send Content-Length or Transfer-Encoding: chunked (HTTP/1.1)");
      }
    }
    String expect = request.getHeader(HttpHeaderNames.EXPECT);
    if (expect != null && !"100-continue".equalsIgnoreCase(expect.trim())) {
      return new Failure(417, "invalid_request_error", "expectation_failed",
          "the only expectation the gateway meets is 100-continue, not '" + expect + "'");
    }
    return null;
  }

  /** A chunked body that breaks the framing: answered 400 if nothing has been sent yet (the connection closes anyway). */
  private void malformedBody(State state, Throwable t) {
    HttpServerRequest request = state.current;
    if (request == null || t instanceof IOException) {
      return;
    }
    HttpServerResponse response = request.response();
    if (response.headWritten() || response.ended() || response.closed()) {
      return;
    }
    String why = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    // Vert.x closes the connection as soon as this returns: the answer must be flushed before
    reject(request, Failure.badRequest("malformed_body", "malformed request body: " + why), false);
  }

  private void arm(HttpConnection conn, State state, Duration after) {
    cancel(state);
    state.timer = vertx.setTimer(after.toMillis(), id -> {
      state.timer = -1;
      conn.close();
    });
  }

  private void cancel(State state) {
    if (state.timer >= 0) {
      vertx.cancelTimer(state.timer);
      state.timer = -1;
    }
  }

  /**
   * Puts {@link StrictRequestDecoder} in place of Vert.x's decoder. The connection handler runs
   * while the pipeline is being set up, before any request byte has been decoded; a connection
   * of another shape (a future Vert.x) keeps its decoder and only loses the CL+TE check.
   */
  private void strictDecoder(HttpConnection conn) {
    if (conn instanceof ConnectionBase base) {
      ChannelPipeline pipeline = base.channelHandlerContext().pipeline();
      if (pipeline.get("httpDecoder") instanceof VertxHttpRequestDecoder) {
        pipeline.replace("httpDecoder", "httpDecoder", new StrictRequestDecoder(options));
      }
    }
  }
}
