package dev.switchboard.bus;

import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;

/**
 * An error a client may see, in OpenAI's shape. Components fail bus messages with it (status as
 * the failure code, the JSON as the message), and the ingress turns any throwable back into one
 * with {@link #from(Throwable)} — the single place where failures become status codes.
 */
public final class Failure extends RuntimeException {

  private final int status;
  private final String type;
  private final String code;
  /** Seconds for a {@code Retry-After} header; 0: none. */
  private final long retryAfterSeconds;

  public Failure(int status, String type, String code, String message) {
    this(status, type, code, message, 0);
  }

  private Failure(int status, String type, String code, String message, long retryAfterSeconds) {
    super(message, null, false, false);
    this.status = status;
    this.type = type;
    this.code = code;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  public static Failure badRequest(String code, String message) {
    return new Failure(400, "invalid_request_error", code, message);
  }

  public static Failure notFound(String code, String message) {
    return new Failure(404, "invalid_request_error", code, message);
  }

  public static Failure conflict(String code, String message) {
    return new Failure(409, "invalid_request_error", code, message);
  }

  public static Failure unauthorized(String message) {
    return new Failure(401, "authentication_error", "invalid_token", message);
  }

  /** 429 from our own rate limits: the client may try again in {@code retryAfterSeconds} (its Retry-After). */
  public static Failure tooManyRequests(String message, long retryAfterSeconds) {
    return new Failure(429, "rate_limit_exceeded", "rate_limit_exceeded", message, retryAfterSeconds);
  }

  /** The token is valid but may not do this (its role, scope or memory scopes): the message says what it lacks. */
  public static Failure forbidden(String code, String message) {
    return new Failure(403, "permission_error", code, message);
  }

  public static Failure unavailable(String code, String message) {
    return new Failure(503, "service_unavailable", code, message);
  }

  public static Failure badGateway(String code, String message) {
    return new Failure(502, "upstream_error", code, message);
  }

  public static Failure timeout(String message) {
    return new Failure(504, "upstream_error", "upstream_timeout", message);
  }

  public static Failure internal(String message) {
    return new Failure(500, "server_error", "internal_error", message);
  }

  public int status() {
    return status;
  }

  public String type() {
    return type;
  }

  public String code() {
    return code;
  }

  /** Seconds the client should wait before trying again (the {@code Retry-After} header); 0 when not said. */
  public long retryAfterSeconds() {
    return retryAfterSeconds;
  }

  public JsonObject toJson() {
    return new JsonObject().put("error", new JsonObject()
        .put("message", getMessage())
        .put("type", type)
        .put("param", null)
        .put("code", code));
  }

  /** The form to fail a bus message with: {@code message.fail(f.status(), f.encode())}. */
  public String encode() {
    return toJson().encode();
  }

  /** Fails a bus request with this failure (or whatever {@code t} maps to). */
  public static void reply(io.vertx.core.eventbus.Message<?> message, Throwable t) {
    Failure f = from(t);
    message.fail(f.status(), f.encode());
  }

  /** Worth trying again later: the upstream or the gateway was in trouble, not the request. */
  public boolean retryable() {
    return status >= 500 || status == 429 || status == 408;
  }

  public static Failure from(Throwable t) {
    if (t instanceof Failure f) {
      return f;
    }
    if (t instanceof ReplyException re) {
      if (re.failureType() == ReplyFailure.RECIPIENT_FAILURE) {
        return decode(re.failureCode(), re.getMessage());
      }
      if (re.failureType() == ReplyFailure.TIMEOUT) {
        return new Failure(504, "server_error", "internal_timeout", "the gateway did not answer in time");
      }
      return unavailable("component_unavailable", "a gateway component is not running: " + re.getMessage());
    }
    if (t instanceof DecodeException) {
      return badRequest("invalid_json", "request body is not valid JSON");
    }
    return internal(t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage());
  }

  private static Failure decode(int status, String message) {
    if (message != null && message.startsWith("{")) {
      try {
        JsonObject error = new JsonObject(message).getJsonObject("error");
        if (error != null) {
          return new Failure(status, error.getString("type", "server_error"), error.getString("code"),
              error.getString("message", ""));
        }
      } catch (RuntimeException ignored) {
        // not ours: fall through and keep the text
      }
    }
    int s = status >= 400 && status < 600 ? status : 500;
    return new Failure(s, s >= 500 ? "server_error" : "invalid_request_error", null, String.valueOf(message));
  }
}
