package dev.switchboard.model;

import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.RequestOptions;

/**
 * Upstream bodies, read with a bound. Every answer the gateway holds in memory comes through here,
 * so an endless or huge body costs at most the limit: past it the call fails and the connection is
 * reset (it cannot be reused with an unread body on it anyway).
 */
final class Bodies {

  /** An error body is only read for its message: its first bytes are enough. */
  static final int ERROR_BODY_BYTES = 64 * 1024;

  private Bodies() {
  }

  /** A status, its headers and (the bounded) body. */
  record Answer(int status, MultiMap headers, Buffer body) {
    boolean success() {
      return status / 100 == 2;
    }
  }

  /**
   * One request and its answer, within {@code timeoutMs} all told (a trickling body cannot hold it
   * longer): a 2xx body read whole up to the limit, an error body's first bytes. On time-out the
   * request is reset, which closes its connection.
   */
  static Future<Answer> call(Vertx vertx, Provider p, RequestOptions options, Buffer body, long timeoutMs) {
    Promise<Answer> answer = Promise.promise();
    HttpClientRequest[] sent = new HttpClientRequest[1];
    long timer = vertx.setTimer(timeoutMs, id -> {
      if (answer.tryFail(p.timedOut(timeoutMs)) && sent[0] != null) {
        sent[0].reset();
      }
    });
    p.open(options.setConnectTimeout(timeoutMs))
        .compose(r -> {
          sent[0] = r;
          if (answer.future().isComplete()) {
            r.reset();
            return Future.failedFuture(p.timedOut(timeoutMs));
          }
          return body == null ? r.send() : r.send(body);
        })
        .compose(r -> answer(r, p))
        .onComplete(ar -> {
          vertx.cancelTimer(timer);
          if (ar.succeeded()) {
            answer.tryComplete(ar.result());
          } else {
            answer.tryFail(ar.cause());
          }
        });
    return answer.future();
  }

  /** A response read as far as it is needed: whole (bounded) when it succeeded, its start when not. */
  static Future<Answer> answer(HttpClientResponse r, Provider p) {
    return (r.statusCode() / 100 == 2 ? read(r, p) : head(r, ERROR_BODY_BYTES))
        .map(b -> new Answer(r.statusCode(), r.headers(), b));
  }

  /**
   * The whole body, or a {@link Outcome.Refusal} once it passes {@code p}'s
   * {@code limits.max_response_size} (at once when {@code Content-Length} says so).
   */
  static Future<Buffer> read(HttpClientResponse r, Provider p) {
    long limit = p.settings.limits().maxResponseSize();
    long declared = declaredLength(r);
    if (declared > limit) {
      // the reset comes back as this response's exception: expected here, and without a handler
      // Vert.x would log it as unhandled (SEVERE "Stream reset")
      r.exceptionHandler(ignored -> { });
      r.request().reset();
      return Future.failedFuture(new Outcome.Refusal(tooLarge(p, limit)));
    }
    Promise<Buffer> body = Promise.promise();
    Buffer data = Buffer.buffer((int) Math.max(256, Math.min(declared, 64 * 1024)));
    r.handler(chunk -> {
      if (body.future().isComplete()) {
        return;
      }
      if (data.length() + (long) chunk.length() > limit) {
        body.tryFail(new Outcome.Refusal(tooLarge(p, limit)));
        r.request().reset();
        return;
      }
      data.appendBuffer(chunk);
    });
    r.exceptionHandler(body::tryFail);
    r.endHandler(v -> body.tryComplete(data));
    return body.future();
  }

  /** At most the first {@code max} bytes; a longer body is cut there and its connection reset. */
  static Future<Buffer> head(HttpClientResponse r, int max) {
    Promise<Buffer> body = Promise.promise();
    Buffer data = Buffer.buffer(1024);
    r.handler(chunk -> {
      if (body.future().isComplete()) {
        return;
      }
      int room = max - data.length();
      if (chunk.length() >= room) {
        data.appendBuffer(chunk, 0, room);
        body.tryComplete(data);
        r.request().reset();
        return;
      }
      data.appendBuffer(chunk);
    });
    // a failure after the first bytes still leaves a message to read
    r.exceptionHandler(e -> body.tryComplete(data));
    r.endHandler(v -> body.tryComplete(data));
    return body.future();
  }

  static Outcome tooLarge(Provider p, long limit) {
    return Outcome.tooLarge(p, "an answer larger than " + ProviderSettings.Limits.describe(limit)
        + " (limits.max_response_size)");
  }

  private static long declaredLength(HttpClientResponse r) {
    String length = r.getHeader("Content-Length");
    if (length == null) {
      return -1;
    }
    try {
      return Long.parseLong(length.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
