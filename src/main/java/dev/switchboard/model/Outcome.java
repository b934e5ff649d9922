package dev.switchboard.model;

import dev.switchboard.bus.Failure;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ConnectionPoolTooBusyException;
import io.vertx.core.json.JsonObject;
import java.util.Locale;

/**
 * What one attempt against one deployment came to, classified before anything acts on it: the
 * retry loop, the circuit breaker and the key pool each read the kind, never the raw status.
 */
record Outcome(Kind kind, Failure failure, long retryAfterMs) {

  enum Kind {
    /** Answered. */
    OK,
    /** Worth another try, here or elsewhere: connect errors, timeouts, resets, 5xx. */
    RETRYABLE,
    /**
     * An answer the gateway refuses for its size or shape (too large, not JSON, not a completion, a
     * redirect): asking the same deployment again would fetch (and maybe bill) the same, so only
     * another deployment is tried.
     */
    REFUSED,
    /** 429: this key rests; another key or deployment may answer. */
    RATE_LIMITED,
    /** 401/403 or an exhausted quota: this key is disabled for a long time; the next key is tried. */
    KEY_REJECTED,
    /** 404: this deployment does not have the model; another deployment may. */
    NOT_FOUND,
    /** 400 about the context window: the group's context_window_fallback may take it. */
    CONTEXT_LENGTH,
    /** Any other 4xx: the request itself is wrong; no retry anywhere. */
    FINAL,
    /** The client went away. */
    CANCELLED
  }

  static final Outcome OK = new Outcome(Kind.OK, null, 0);
  static final Outcome CANCELLED = new Outcome(Kind.CANCELLED, null, 0);

  /** A sign that the provider is out: it could not be reached, failed with 5xx, or did not answer in time. */
  boolean signalsDown() {
    if (kind != Kind.RETRYABLE || failure == null) {
      return false;
    }
    String code = String.valueOf(failure.code());
    return code.equals("upstream_unreachable") || code.equals("upstream_timeout") || code.startsWith("upstream_status_5");
  }

  /** The provider answered (whatever it said): it is there. */
  boolean answered() {
    return switch (kind) {
      case OK, RATE_LIMITED, KEY_REJECTED, NOT_FOUND, CONTEXT_LENGTH, FINAL -> true;
      default -> false;
    };
  }

  /** Carries a refused answer through a failed future, so that it is classified as one. */
  static final class Refusal extends RuntimeException {
    final Outcome outcome;

    Refusal(Outcome outcome) {
      super(outcome.failure().getMessage(), null, false, false);
      this.outcome = outcome;
    }
  }

  static Outcome thrown(Provider p, Throwable t) {
    if (t instanceof Refusal r) {
      return r.outcome;
    }
    if (t instanceof Failure f) {
      return new Outcome(Kind.RETRYABLE, f, 0);
    }
    if (t instanceof ConnectionPoolTooBusyException) {
      return new Outcome(Kind.RETRYABLE, Failure.unavailable("overloaded",
          "upstream '" + p.name() + "' has too many requests waiting for a connection"), 0);
    }
    return new Outcome(Kind.RETRYABLE, p.unreachable(t), 0);
  }

  static Outcome malformed(Provider p, String what) {
    return new Outcome(Kind.REFUSED, Failure.badGateway("upstream_malformed",
        "upstream '" + p.name() + "' sent a malformed answer: " + what), 0);
  }

  /** An answer over {@code limits}: refused, and the connection closed. */
  static Outcome tooLarge(Provider p, String what) {
    return new Outcome(Kind.REFUSED, Failure.badGateway("upstream_response_too_large",
        "upstream '" + p.name() + "' sent " + what), 0);
  }

  /** An upstream error status, read together with (the start of) its body. */
  static Outcome status(Provider p, int status, Buffer body, MultiMap headers) {
    if (status >= 300 && status < 400) {
      // never followed: a redirect may leave the upstream's host, and the key would go with it
      String location = headers == null ? null : headers.get("Location");
      String where = "";
      if (location != null && !location.isBlank()) {
        try {
          java.net.URI uri = java.net.URI.create(location.trim());
          where = uri.getHost() == null ? " to a path on the same host" : " to " + ModelSettings.hostOf(location.trim());
        } catch (RuntimeException unreadable) {
          where = " to an unreadable location";
        }
      }
      return new Outcome(Kind.REFUSED, Failure.badGateway("upstream_redirect", "upstream '" + p.name() + "' answered "
          + status + " (a redirect" + where + "), which the gateway does not follow: check the provider's endpoint"), 0);
    }
    String retryAfter = headers == null ? null : headers.get("Retry-After");
    String text = body == null ? "" : body.toString();
    String message = text;
    String type = null;
    String code = null;
    try {
      Object parsed = new JsonObject(text).getValue("error");
      if (parsed instanceof JsonObject error) {
        message = error.getString("message", text);
        type = error.getString("type");
        Object c = error.getValue("code");
        code = c == null ? null : c.toString();
      } else if (parsed instanceof String s) {
        message = s;
      }
    } catch (RuntimeException notJson) {
      // keep the raw text
    }
    if (message.length() > 500) {
      message = message.substring(0, 500) + "…";
    }
    String lower = (message + " " + code + " " + type).toLowerCase(Locale.ROOT);
    String who = "upstream '" + p.name() + "'";
    if (status == 401 || status == 403) {
      // never pass the upstream's words on: they may echo part of the key
      return new Outcome(Kind.KEY_REJECTED, Failure.badGateway("upstream_auth_failed",
          who + " rejected the gateway's credentials (" + status + ")"), 0);
    }
    if (status == 402 || status == 429 && (lower.contains("quota") || lower.contains("billing")
        || lower.contains("balance") || lower.contains("arrearage"))) {
      return new Outcome(Kind.KEY_REJECTED, Failure.badGateway("upstream_quota_exhausted",
          who + " reports the key's quota or balance is exhausted"), 0);
    }
    if (status == 429) {
      return new Outcome(Kind.RATE_LIMITED, new Failure(429, type != null ? type : "rate_limit_error",
          code != null ? code : "rate_limit_exceeded", who + ": " + message), retryAfterMs(retryAfter));
    }
    if (status >= 500 || status == 408) {
      return new Outcome(Kind.RETRYABLE, Failure.badGateway("upstream_status_" + status,
          who + " answered " + status + (message.isEmpty() ? "" : ": " + message)), 0);
    }
    Failure passthrough = new Failure(status, type != null ? type : "invalid_request_error",
        code != null ? code : "upstream_" + status, who + ": " + message);
    if (status == 404) {
      return new Outcome(Kind.NOT_FOUND, passthrough, 0);
    }
    if (status == 400 && (lower.contains("context length") || lower.contains("context_length")
        || lower.contains("maximum context") || lower.contains("context window") || lower.contains("too many tokens")
        || lower.contains("reduce the length"))) {
      return new Outcome(Kind.CONTEXT_LENGTH, passthrough, 0);
    }
    return new Outcome(Kind.FINAL, passthrough, 0);
  }

  /** {@code Retry-After} in seconds or as an HTTP date; 0 when absent or unreadable. */
  static long retryAfterMs(String value) {
    if (value == null || value.isBlank()) {
      return 0;
    }
    try {
      return (long) (Double.parseDouble(value.trim()) * 1000);
    } catch (NumberFormatException e) {
      try {
        long at = java.time.ZonedDateTime.parse(value.trim(), java.time.format.DateTimeFormatter.RFC_1123_DATE_TIME)
            .toInstant().toEpochMilli();
        return Math.max(0, at - System.currentTimeMillis());
      } catch (RuntimeException unreadable) {
        return 0;
      }
    }
  }
}
