package dev.switchboard.channel;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientResponse;

/**
 * Reading what platforms answer, never more than a bound: a push answer, a token, a registration
 * is a few hundred bytes, and an endpoint that sends megabytes (a misconfigured URL, a hostile
 * host) must fail that one call, not fill the heap. Over the bound the connection is reset and
 * nothing more is read or kept. The doctor reads its probes' answers with it too.
 */
public final class Bodies {

  /** Push answers (DingTalk, Feishu, WeCom, webhooks). */
  public static final int MAX_ANSWER_BYTES = 1024 * 1024;
  /** Access tokens and Stream registrations: small JSON objects. */
  static final int MAX_TOKEN_BYTES = 64 * 1024;

  private Bodies() {
  }

  /** An answer over its bound. */
  public static final class TooLarge extends RuntimeException {
    TooLarge(String what, int max) {
      super(what + " is larger than " + describe(max) + "; not read", null, false, false);
    }
  }

  public static String describe(int bytes) {
    return bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0 ? bytes / (1024 * 1024) + " MB" : bytes / 1024 + " KB";
  }

  /** The whole body of {@code response} when it is at most {@code max} bytes; else fails with {@link TooLarge}. */
  public static Future<Buffer> read(HttpClientResponse response, int max, String what) {
    Promise<Buffer> done = Promise.promise();
    // before any reset below: the reset comes back as this response's exception, and without a
    // handler Vert.x logs it as unhandled (SEVERE "Stream reset")
    response.exceptionHandler(done::tryFail);
    String declared = response.getHeader("content-length");
    if (declared != null) {
      try {
        if (Long.parseLong(declared.trim()) > max) {
          done.tryFail(new TooLarge(what, max));
          response.request().reset();
          return done.future();
        }
      } catch (NumberFormatException ignored) {
        // counted as it arrives
      }
    }
    Buffer body = Buffer.buffer();
    response.handler(chunk -> {
      if (done.future().isComplete()) {
        return;
      }
      if (body.length() + chunk.length() > max) {
        done.tryFail(new TooLarge(what, max));
        response.request().reset();
        return;
      }
      body.appendBuffer(chunk);
    });
    response.endHandler(v -> done.tryComplete(body));
    return done.future();
  }
}
