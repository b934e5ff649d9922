package dev.switchboard.model;

import dev.switchboard.bus.Failure;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.net.ConnectException;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One configured provider as the dispatcher uses it: its HTTP client (one connection pool per
 * provider, sized by {@code max_concurrency}), its keys, and what its last call said about it.
 */
final class Upstream {

  final ProviderSettings settings;
  final HttpClient client;
  private final AtomicInteger nextKey = new AtomicInteger();
  private volatile String state = "unknown";
  private volatile String lastError;
  private volatile long lastCallAt;

  Upstream(Vertx vertx, ProviderSettings settings) {
    this.settings = settings;
    this.client = vertx.createHttpClient(
        new HttpClientOptions()
            .setConnectTimeout((int) settings.connectTimeout().toMillis())
            .setKeepAlive(true)
            .setKeepAliveTimeout(60)
            .setVerifyHost(true),
        new PoolOptions().setHttp1MaxSize(settings.maxConcurrency()).setMaxWaitQueueSize(settings.maxConcurrency() * 16));
  }

  String name() {
    return settings.name();
  }

  RequestOptions request(HttpMethod method, String path) {
    RequestOptions options = new RequestOptions()
        .setMethod(method)
        .setAbsoluteURI(settings.endpoint() + path)
        .setFollowRedirects(false);
    if (!settings.keys().isEmpty()) {
      String key = settings.keys().get(Math.floorMod(nextKey.getAndIncrement(), settings.keys().size()));
      options.putHeader(HttpHeaderNames.AUTHORIZATION, "Bearer " + key);
    }
    if (method == HttpMethod.POST) {
      options.putHeader(HttpHeaderNames.CONTENT_TYPE, "application/json");
    }
    options.putHeader(HttpHeaderNames.ACCEPT, "application/json, text/event-stream");
    return options;
  }

  /**
   * Sends a request and reads the whole answer, failing with 504 when the total timeout passes.
   * Any HTTP status is a successful future: the caller decides what a status means.
   */
  Future<Answer> exchange(Vertx vertx, RequestOptions options, Buffer body) {
    Promise<Answer> promise = Promise.promise();
    long totalMs = settings.totalTimeout().toMillis();
    client.request(options).onComplete(opened -> {
      if (opened.failed()) {
        promise.tryFail(unreachable(opened.cause()));
        return;
      }
      var request = opened.result();
      long timer = vertx.setTimer(totalMs, id -> {
        if (promise.tryFail(timedOut())) {
          request.reset(0, new TimeoutException("total timeout"));
        }
      });
      Future<io.vertx.core.http.HttpClientResponse> sent = body == null ? request.send() : request.send(body);
      sent.compose(response -> response.body().map(b -> new Answer(response.statusCode(),
              response.getHeader(HttpHeaderNames.CONTENT_TYPE), b)))
          .onComplete(done -> {
            vertx.cancelTimer(timer);
            if (done.succeeded()) {
              promise.tryComplete(done.result());
            } else {
              promise.tryFail(unreachable(done.cause()));
            }
          });
    });
    return promise.future();
  }

  record Answer(int status, String contentType, Buffer body) {
  }

  Failure unreachable(Throwable cause) {
    if (cause instanceof Failure f) {
      return f;
    }
    String why = cause instanceof ConnectException || cause.getMessage() == null
        ? describe(cause) : cause.getMessage();
    return Failure.badGateway("upstream_unreachable", "upstream '" + name() + "' is unreachable: " + why);
  }

  Failure timedOut() {
    return Failure.timeout("upstream '" + name() + "' did not answer within "
        + settings.totalTimeout().toSeconds() + "s");
  }

  Failure firstTokenTimedOut() {
    return Failure.timeout("upstream '" + name() + "' sent no data within "
        + settings.firstTokenTimeout().toSeconds() + "s");
  }

  /**
   * An upstream error answer in the client's terms: 4xx passes through (with the upstream's own
   * OpenAI-shaped body when it has one), 5xx becomes 502.
   */
  Failure fromStatus(int status, Buffer body) {
    String text = body == null ? "" : body.toString();
    String message = text;
    String type = null;
    String code = null;
    try {
      JsonObject error = new JsonObject(text).getJsonObject("error");
      if (error != null) {
        message = error.getString("message", text);
        type = error.getString("type");
        Object c = error.getValue("code");
        code = c == null ? null : c.toString();
      }
    } catch (RuntimeException notJson) {
      // keep the raw text, trimmed below
    }
    if (message.length() > 500) {
      message = message.substring(0, 500) + "…";
    }
    if (status >= 400 && status < 500) {
      return new Failure(status, type != null ? type : "invalid_request_error",
          code != null ? code : "upstream_" + status, "upstream '" + name() + "': " + message);
    }
    return Failure.badGateway("upstream_status_" + status,
        "upstream '" + name() + "' answered " + status + (message.isEmpty() ? "" : ": " + message));
  }

  void record(boolean ok, String error) {
    lastCallAt = System.currentTimeMillis();
    state = ok ? "up" : "down";
    lastError = ok ? null : error;
  }

  JsonObject health() {
    return new JsonObject()
        .put("status", state)
        .put("required", false)
        .put("endpoint", settings.endpoint())
        .put("last_call_at", lastCallAt == 0 ? null : java.time.Instant.ofEpochMilli(lastCallAt).toString())
        .put("last_error", lastError);
  }

  private static String describe(Throwable t) {
    String m = t.getMessage();
    return t.getClass().getSimpleName() + (m == null ? "" : ": " + m);
  }
}
