package dev.switchboard.model;

import dev.switchboard.bus.Failure;
import dev.switchboard.bus.StreamEvent;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import java.util.concurrent.TimeoutException;

/**
 * Relays one upstream SSE response to the ingress's stream address, chunk by chunk, and makes
 * sure exactly one terminal event ({@code End} or {@code Failed}) is sent, whatever happens
 * first: the end of the stream, a broken connection, a timeout, or the client going away.
 */
final class StreamRelay {

  interface Finish {
    void finished(StreamRelay relay, String outcome, Failure failure);
  }

  private final Vertx vertx;
  private final EventBus bus;
  private final String address;
  private final Upstream upstream;
  private final String model;
  private final Finish finish;
  final long startedNanos = System.nanoTime();
  private HttpClientRequest request;
  private long totalTimer = -1;
  private long firstTokenTimer = -1;
  private boolean headSent;
  private boolean done;

  StreamRelay(Vertx vertx, String address, Upstream upstream, String model, Finish finish) {
    this.vertx = vertx;
    this.bus = vertx.eventBus();
    this.address = address;
    this.upstream = upstream;
    this.model = model;
    this.finish = finish;
  }

  String address() {
    return address;
  }

  String model() {
    return model;
  }

  Upstream upstream() {
    return upstream;
  }

  void start(Buffer body) {
    totalTimer = vertx.setTimer(upstream.settings.totalTimeout().toMillis(), id -> timeout(upstream.timedOut()));
    firstTokenTimer = vertx.setTimer(upstream.settings.firstTokenTimeout().toMillis(),
        id -> timeout(upstream.firstTokenTimedOut()));
    upstream.client.request(upstream.request(io.vertx.core.http.HttpMethod.POST, "/chat/completions"))
        .onComplete(opened -> {
          if (opened.failed()) {
            fail(upstream.unreachable(opened.cause()), "error");
            return;
          }
          request = opened.result();
          if (done) {
            request.reset();
            return;
          }
          request.send(body).onComplete(sent -> {
            if (sent.failed()) {
              fail(upstream.unreachable(sent.cause()), "error");
            } else {
              onResponse(sent.result());
            }
          });
        });
  }

  private void onResponse(HttpClientResponse response) {
    if (done) {
      return;
    }
    if (response.statusCode() != 200) {
      response.body().onComplete(b -> fail(upstream.fromStatus(response.statusCode(), b.result()), "error"));
      return;
    }
    headSent = true;
    bus.send(address, new StreamEvent.Head(upstream.name(), model));
    response.handler(chunk -> {
      if (firstTokenTimer >= 0) {
        vertx.cancelTimer(firstTokenTimer);
        firstTokenTimer = -1;
      }
      if (!done) {
        bus.send(address, new StreamEvent.Chunk(chunk));
      }
    });
    response.exceptionHandler(e -> fail(Failure.badGateway("upstream_stream_broken",
        "upstream '" + upstream.name() + "' broke the stream: " + e.getMessage()), "error"));
    response.endHandler(v -> {
      if (!done) {
        done = true;
        cancelTimers();
        bus.send(address, new StreamEvent.End());
        finish.finished(this, "ok", null);
      }
    });
  }

  private void timeout(Failure failure) {
    if (done) {
      return;
    }
    // fail first: the reset below makes the response report a broken stream, which must not win
    fail(failure, "timeout");
    if (request != null) {
      request.reset(0, new TimeoutException(failure.getMessage()));
    }
  }

  private void fail(Failure failure, String outcome) {
    if (done) {
      return;
    }
    done = true;
    cancelTimers();
    bus.send(address, new StreamEvent.Failed(failure));
    finish.finished(this, outcome, failure);
  }

  /** The client went away: stop reading and free the upstream connection. */
  void cancel() {
    if (done) {
      return;
    }
    done = true;
    cancelTimers();
    if (request != null) {
      request.reset();
    }
    finish.finished(this, "cancelled", null);
  }

  private void cancelTimers() {
    if (totalTimer >= 0) {
      vertx.cancelTimer(totalTimer);
    }
    if (firstTokenTimer >= 0) {
      vertx.cancelTimer(firstTokenTimer);
    }
    totalTimer = firstTokenTimer = -1;
  }
}
