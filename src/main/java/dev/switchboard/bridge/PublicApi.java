package dev.switchboard.bridge;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.ChatCall;
import dev.switchboard.bus.Failure;
import dev.switchboard.bus.PushRequest;
import dev.switchboard.bus.TaskSubmission;
import dev.switchboard.bus.UpstreamReply;
import dev.switchboard.ingress.ChatRequest;
import dev.switchboard.ingress.TaskBody;
import dev.switchboard.security.Principal;
import dev.switchboard.security.RateLimits;
import dev.switchboard.security.RouteAccess;
import dev.switchboard.security.RouteFamily;
import dev.switchboard.bus.RateTake;
import dev.switchboard.observe.Metrics;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

/**
 * The event-bus addresses the bridges expose, served by translating them to the internal ones.
 * This is the public contract (JSON bodies, as the HTTP API's); the internal addresses and their
 * records may change without a client noticing. JSON becomes records here and nowhere else.
 * A failure is answered as the HTTP API would: failure code the status, message the
 * {@code {"error": {...}}} JSON.
 */
public final class PublicApi extends VerticleBase {

  /** The body of {@code POST /api/v1/tasks} → its 202 body {@code {"id", "status"}}. */
  public static final String TASKS_SUBMIT = "switchboard.tasks.submit";
  /** {@code {"id"}} (or the id as a string) → the body of {@code GET /api/v1/tasks/{id}}. */
  public static final String TASKS_GET = "switchboard.tasks.get";
  /** Published: {@code {"id", "status": queued|succeeded|failed, "result", "error", "time"}}. */
  public static final String TASKS_EVENTS = "switchboard.tasks.events";
  /** Published: each inbound platform event (message, webhook, alert) as the rules see it. */
  public static final String EVENTS = "switchboard.events";
  /** A chat completion request (as {@code POST /v1/chat/completions}, not streaming) → the completion. */
  public static final String CHAT = "switchboard.chat";
  /** {@code {"channel", "bot", "text" | "message", "idempotency_key"}} → the delivery record. */
  public static final String PUSH = "switchboard.push";

  static final String TASKS_PREFIX = "switchboard.tasks.";
  /** What clients may send to, and what they may register for. */
  public static final List<String> INBOUND = List.of(TASKS_SUBMIT, TASKS_GET, CHAT, PUSH);
  public static final List<String> OUTBOUND = List.of(TASKS_EVENTS, EVENTS);

  /** Longer than RedisBuckets takes to give up, as RateLimitHandler's: the limiter's own answer comes first. */
  private static final DeliveryOptions ASK_LIMITER = new DeliveryOptions().setSendTimeout(5_000);

  private final Duration chatTimeout;
  private final RateLimits limits;

  /** {@code limits}: security.rate_limits, which hold for a subject here as on the HTTP API's routes of the same family. */
  public PublicApi(Duration chatTimeout, RateLimits limits) {
    this.chatTimeout = chatTimeout;
    this.limits = limits;
  }

  @Override
  public Future<?> start() {
    EventBus bus = vertx.eventBus();
    return Future.all(List.of(
        bus.<Object>consumer(TASKS_SUBMIT, m -> answer(m, limited(m, RouteFamily.TASKS).compose(v -> submit(m)))).completion(),
        bus.<Object>consumer(TASKS_GET, m -> answer(m, limited(m, RouteFamily.TASKS).compose(v -> get(m)))).completion(),
        bus.<Object>consumer(CHAT, m -> answer(m, limited(m, RouteFamily.CHAT).compose(v -> chat(m)))).completion(),
        bus.<Object>consumer(PUSH, m -> answer(m, limited(m, RouteFamily.DELIVERIES).compose(v -> push(m)))).completion(),
        bus.<JsonObject>localConsumer(Addresses.TASK_EVENTS, m -> bus.publish(TASKS_EVENTS, m.body())).completion(),
        bus.<JsonObject>localConsumer(Addresses.EVENTS_RECEIVED, m -> bus.publish(EVENTS, m.body())).completion()));
  }

  /**
   * A token from the caller's bucket for {@code family}, or the HTTP API's 429; a limiter that does
   * not answer holds nothing back (as over HTTP).
   */
  private Future<Void> limited(Message<Object> message, RouteFamily family) {
    RateLimits.Bucket bucket = limits.forSubject(subject(message), family);
    if (bucket == null) {
      return Future.succeededFuture();
    }
    RateLimits.Limit limit = bucket.limit();
    return vertx.eventBus().<Long>request(Addresses.SECURITY_RATE_TAKE,
            new RateTake(bucket.key(), limit.rate(), limit.per().toMillis(), limit.burst()), ASK_LIMITER)
        .transform(ar -> {
          if (ar.failed()) {
            Metrics.current().rateLimitUnchecked();
            return Future.succeededFuture();
          }
          long waitMs = ar.result().body();
          if (waitMs <= 0) {
            return Future.succeededFuture();
          }
          long seconds = Math.max(1, (waitMs + 999) / 1000);
          Metrics.current().rateLimited(family.scope());
          return Future.failedFuture(Failure.tooManyRequests("rate limit exceeded for " + bucket.who() + "; retry after "
              + seconds + " s", seconds));
        });
  }

  /** A request answered with its JSON, or failed as the HTTP API would fail it; a thrown Failure is the caller's 400. */
  private static void answer(Message<Object> message, Future<JsonObject> reply) {
    reply.onSuccess(message::reply).onFailure(e -> Failure.reply(message, e));
  }

  private static JsonObject object(Message<Object> message) {
    if (!(message.body() instanceof JsonObject body)) {
      throw Failure.badRequest("invalid_json", "the body must be a JSON object");
    }
    return body;
  }

  private static String subject(Message<Object> message) {
    String s = message.headers().get(BridgeAccess.SUBJECT_HEADER);
    return s == null ? "" : s;
  }

  /**
   * The caller as the bridge verified it (null for a message that did not come through a bridge).
   * Legacy true: BridgeAccess has already refused a token without roles when legacy tokens are off.
   */
  private static Principal principal(Message<Object> message) {
    String verified = message.headers().get(BridgeAccess.PRINCIPAL_HEADER);
    return verified == null ? null : Principal.of(new JsonObject(verified), true);
  }

  private Future<JsonObject> submit(Message<Object> message) {
    return Future.<TaskSubmission>future(p -> p.complete(TaskBody.parse(object(message),
            message.headers().get("idempotency-key"), subject(message))))
        .map(s -> {
          // through a bridge: held to the token's memory scopes, as POST /api/v1/tasks is
          Principal caller = principal(message);
          if (caller != null) {
            RouteAccess.checkMemoryScopes(caller, s.memoryScopes(), true);
          }
          return s;
        })
        .compose(s -> vertx.eventBus().<JsonObject>request(Addresses.TASK_SUBMIT, s))
        .map(Message::body);
  }

  private Future<JsonObject> get(Message<Object> message) {
    Object id = message.body() instanceof JsonObject o ? o.getValue("id") : message.body();
    if (!(id instanceof String s) || s.isBlank()) {
      return Future.failedFuture(Failure.badRequest("missing_id", "send {\"id\": \"<task id>\"}"));
    }
    Principal caller = principal(message);
    return vertx.eventBus().<JsonObject>request(Addresses.TASK_GET, s).map(Message::body).compose(task ->
        caller == null || caller.maySee(task) ? Future.succeededFuture(task)
            : Future.failedFuture(Failure.notFound("task_not_found", "no task '" + s + "'")));
  }

  private Future<JsonObject> chat(Message<Object> message) {
    return Future.<JsonObject>future(p -> {
      JsonObject body = object(message);
      ChatRequest.check(body);
      if (Boolean.TRUE.equals(body.getValue("stream"))) {
        throw Failure.badRequest("stream_unsupported", "the bridge answers a chat whole: leave out 'stream' (stream over HTTP instead)");
      }
      if (body.containsKey("memory")) {
        throw Failure.badRequest("memory_unsupported", "'memory' is only taken by POST /v1/chat/completions");
      }
      p.complete(body);
    }).compose(body -> vertx.eventBus().<UpstreamReply>request(Addresses.MODEL_CHAT, ChatCall.internal(body, subject(message)),
            new DeliveryOptions().setSendTimeout(chatTimeout.toMillis())))
        .compose(m -> {
          UpstreamReply reply = m.body();
          if (reply.status() >= 400) {
            // the upstream's error, as the HTTP API would pass it on
            return Future.failedFuture(Failure.from(new io.vertx.core.eventbus.ReplyException(
                io.vertx.core.eventbus.ReplyFailure.RECIPIENT_FAILURE, reply.status(), reply.body().toString())));
          }
          return Future.succeededFuture(reply.body().toJsonObject());
        });
  }

  private Future<JsonObject> push(Message<Object> message) {
    return Future.<PushRequest>future(p -> {
      JsonObject body = object(message);
      String channel = text(body, "channel", true);
      String bot = body.getValue("bot") == null ? "default" : text(body, "bot", true);
      String text = text(body, "text", false);
      Object platform = body.getValue("message");
      if (platform != null && !(platform instanceof JsonObject)) {
        throw Failure.badRequest("invalid_message", "'message' must be a JSON object (a platform message body)");
      }
      if (text == null && platform == null) {
        throw Failure.badRequest("missing_text", "give 'text', or 'message' (a platform message body)");
      }
      String key = text(body, "idempotency_key", false);
      // the delivery store records one push per key and bot: the client's key makes a resend the same push
      String ref = "bridge:push:" + (key != null ? subject(message) + ":" + key : UUID.randomUUID());
      p.complete(new PushRequest(channel, bot, text == null ? "" : text, ref, null, (JsonObject) platform));
    }).compose(push -> vertx.eventBus().request(Addresses.CHANNEL_CHECK, new TaskSubmission.Target(push.channel(), push.bot()))
            .compose(ok -> vertx.eventBus().<JsonObject>request(Addresses.CHANNEL_PUSH, push)))
        .map(Message::body);
  }

  private static String text(JsonObject body, String field, boolean required) {
    Object v = body.getValue(field);
    if (v == null && !required) {
      return null;
    }
    if (!(v instanceof String s) || s.isBlank()) {
      throw Failure.badRequest((required ? "missing_" : "invalid_") + field, "'" + field + "' must be a non-empty string");
    }
    return s;
  }
}
