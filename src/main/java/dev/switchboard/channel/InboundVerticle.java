package dev.switchboard.channel;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.Failure;
import dev.switchboard.bus.Health;
import dev.switchboard.bus.InboundAlert;
import dev.switchboard.bus.InboundDingTalk;
import dev.switchboard.bus.InboundFeishu;
import dev.switchboard.bus.InboundHook;
import dev.switchboard.bus.InboundPlugin;
import dev.switchboard.bus.InboundWeCom;
import dev.switchboard.memory.MemoryVerticle;
import dev.switchboard.store.EmbeddedStore;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * What platforms and other systems send in, checked and turned into one normalised event each
 * (see events/ and the contract of {@link Addresses#EVENTS_INBOUND}), which is stored before the
 * platform is acknowledged; the rules take it from the store. Generic webhooks
 * ({@code POST /webhooks/hooks/{name}}): signature and timestamp checked, a replayed signature
 * refused, one {@code webhook} event per delivery id. DingTalk enterprise robot callbacks
 * ({@code POST /webhooks/dingtalk/{bot}}) and Stream messages: signature and timestamp checked,
 * each timestamp+sign pair bound to the one body it first came with, one {@code message} event per
 * message id, whose {@code reply} says how to answer in the same conversation. Feishu events, WeCom
 * callbacks and Alertmanager notifications ({@code POST /webhooks/alertmanager/{name}}) likewise,
 * each with its own checks. The event id is the dedup key: a re-delivery of an event that is
 * stored is answered as a success, and not acted on again.
 *
 * <p>Every check runs cheapest first: body size, then the timestamp window, then the signature,
 * and only then decryption and parsing. The work that grows with the body (signatures over it,
 * decryption, JSON and XML parsing) runs on a small pool of worker threads of its own, unordered,
 * so that the event loop only routes futures and one large request never holds up another. A
 * worker verticle would have been the other way, but it handles one message at a time and needs
 * the deployment to say so; the pool keeps the claim store and the bus on the loop where they are.
 *
 * <p>Claims live where every instance sees them ({@link Claims}: the embedded store, or Redis in the
 * distributed profile), so that a message a platform sends to two instances behind a load
 * balancer, or sends again, is answered once. A claim store that cannot be asked answers 503: the
 * platform sends the message again later, and nothing is lost.
 */
public final class InboundVerticle extends VerticleBase {

  private static final Logger LOG = Logger.getLogger(InboundVerticle.class.getName());

  /** A timestamp further than this from now is refused (replays, clock trouble). */
  static final Duration WINDOW = Duration.ofMinutes(5);
  /** DingTalk allows its callback timestamp to be an hour off. */
  static final Duration DINGTALK_WINDOW = Duration.ofHours(1);
  /** A DingTalk robot callback is a few KB (the ingress bounds it at 64 KB too). */
  static final int DINGTALK_MAX_BODY_BYTES = 64 * 1024;
  /** Threads that verify, decrypt and parse inbound bodies. */
  static final int WORKERS = 4;
  /**
   * How long a message stays claimed while its task is being submitted: long enough for any
   * submission, short enough that a message whose instance died meanwhile is taken by the
   * platform's next try.
   */
  static final Duration HANDLING = Duration.ofSeconds(60);
  /**
   * Alertmanager sends a notification again when it got no answer, with the same body: one body is
   * one event for this long. A later identical notification (repeat_interval) is a new event.
   */
  static final Duration ALERT_REPEAT = Duration.ofMinutes(5);
  /** How often, and how long apart, a copy of a message being handled waits for the first one. */
  private static final int BUSY_WAITS = 20;
  private static final long BUSY_WAIT_MS = 100;
  /** A readiness check waits this long for the claim store. */
  static final Duration HEALTH_TIMEOUT = Duration.ofSeconds(2);

  /** Replaced whole by a reload: each callback looks its bot up in the set of the moment. */
  private ChannelSettings settings;
  private final MemoryVerticle.Storage storage;
  private Claims claims;
  private WorkerExecutor cpu;
  private long sweeper = -1;

  public InboundVerticle(ChannelSettings settings, MemoryVerticle.Storage storage) {
    this.settings = settings;
    this.storage = storage;
  }

  /** The embedded profile on {@code dataDir}. */
  public InboundVerticle(ChannelSettings settings, Path dataDir) {
    this(settings, new MemoryVerticle.Storage("embedded", dataDir, null, null));
  }

  private boolean distributed() {
    return "distributed".equals(storage.profile());
  }

  @Override
  public Future<?> start() {
    cpu = vertx.createSharedWorkerExecutor("switchboard-inbound", WORKERS);
    Future<Claims> opened = distributed()
        // no connection is made here: a Redis that is not there yet answers 503s, it does not stop the start
        ? Future.succeededFuture(new RedisClaims(new RedisState(vertx, storage.redisUrl(), settings.store().keyPrefix(), "inbound")))
        : EmbeddedStore.open(vertx, storage.dataDir()).map(EmbeddedClaims::new);
    return opened
        .compose(c -> {
          claims = c;
          return claims.init();
        })
        .compose(v -> Future.all(List.of(
            vertx.eventBus().<Void>localConsumer(Addresses.CHANNEL_INBOUND_HEALTH, this::health).completion(),
            vertx.eventBus().<ChannelSettings>localConsumer(Addresses.INBOUND_RELOAD, m -> {
              settings = m.body();
              m.reply(null);
            }).completion(),
            vertx.eventBus().<InboundHook>localConsumer(Addresses.CHANNEL_INBOUND_HOOK, this::receive).completion(),
            vertx.eventBus().<InboundDingTalk>localConsumer(Addresses.CHANNEL_INBOUND_DINGTALK, this::dingtalk).completion(),
            vertx.eventBus().<InboundFeishu>localConsumer(Addresses.CHANNEL_INBOUND_FEISHU, this::feishu).completion(),
            vertx.eventBus().<InboundWeCom>localConsumer(Addresses.CHANNEL_INBOUND_WECOM, this::wecom).completion(),
            vertx.eventBus().<InboundAlert>localConsumer(Addresses.CHANNEL_INBOUND_ALERT, this::alert).completion(),
            vertx.eventBus().<InboundPlugin>localConsumer(Addresses.CHANNEL_INBOUND_PLUGIN, this::plugin).completion(),
            vertx.eventBus().<JsonObject>localConsumer(Addresses.CHANNEL_DINGTALK_MESSAGE, this::dingtalkStreamMessage).completion())))
        .compose(v -> vertx.eventBus().<JsonObject>localConsumer(Addresses.CHANNEL_FEISHU_EVENT, this::feishuConnectionEvent).completion())
        .onSuccess(v -> sweeper = vertx.setPeriodic(Duration.ofMinutes(10).toMillis(), id -> claims.sweep()
            .onFailure(e -> LOG.fine("claims not swept: " + e.getMessage()))));
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(sweeper);
    Future<Void> closing = claims == null ? Future.succeededFuture() : claims.close();
    return closing.eventually(() -> cpu.close());
  }

  private void health(Message<Void> message) {
    claims.ping().timeout(HEALTH_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).onComplete(ar -> {
      JsonObject entry = new JsonObject().put("required", true).put("status", ar.succeeded() ? "up" : "down")
          .put("store", distributed() ? "redis" : "embedded");
      if (ar.failed()) {
        entry.put("error", String.valueOf(ar.cause().getMessage()));
      }
      message.reply(new Health(new JsonObject().put("claims", entry)));
    });
  }

  /** Work that grows with the body, on the inbound workers; a Failure it throws is the answer. */
  private <T> Future<T> offLoop(Callable<T> work) {
    return cpu.executeBlocking(() -> {
      try {
        return work.call();
      } catch (Failure f) {
        throw f;
      } catch (RuntimeException e) {
        throw Failure.badRequest("invalid_body", "the request cannot be read: " + e.getMessage());
      }
    }, false);
  }

  /** A claim store failure as the platform should see it: a 503, so that it sends the message again later. */
  private static Failure unavailable(Throwable e) {
    if (e instanceof Failure f && f.status() == 503) {
      return f;
    }
    return Failure.unavailable("store_unavailable", "the claim store is unavailable: " + e.getMessage());
  }

  /**
   * Does {@code work} once per {@code key} for {@code ttl}, whichever instance the request comes to
   * and however often it comes. A key done already is answered {@code later}; a key whose work is
   * under way right now (on this instance or another) is answered 503, so that the sender asks
   * again and then gets the real answer; a work that fails (the event store is down) frees the
   * key, so that the sender's next try does it.
   */
  private Future<String> once(String key, Duration ttl, Supplier<Future<String>> work, String later) {
    return once(key, ttl, work, later, BUSY_WAITS);
  }

  /**
   * A copy that arrives while the first is being stored (a balancer sending one request to two
   * instances, a platform retrying fast) waits a moment for the first to finish and is then
   * answered as a duplicate; only when that takes long is it told to come again (503).
   */
  private Future<String> once(String key, Duration ttl, Supplier<Future<String>> work, String later, int waits) {
    return claims.begin(key, HANDLING).recover(e -> Future.failedFuture(unavailable(e))).compose(claim -> switch (claim.state()) {
      case DONE -> Future.succeededFuture(later);
      case BUSY -> waits > 0
          ? Future.<Void>future(p -> vertx.setTimer(BUSY_WAIT_MS, id -> p.complete())).compose(v -> once(key, ttl, work, later, waits - 1))
          : Future.failedFuture(Failure.unavailable("in_progress",
              "this message is being handled right now; the next delivery of it gets the answer"));
      case TAKEN -> work.get().transform(ar -> ar.succeeded()
          ? claims.done(key, ttl, later).transform(d -> {
              if (d.failed()) {
                // the event is stored; once the busy claim runs out (HANDLING), a replay is stored
                // again, and the event id makes that a duplicate
                LOG.warning("claim " + key + " not marked done: " + d.cause().getMessage());
              }
              return Future.succeededFuture(ar.result());
            })
          : claims.release(key, claim.value()).transform(r -> Future.<String>failedFuture(ar.cause())));
    });
  }

  /**
   * Stores {@code event} (events/EventVerticle): completes with {@code accepted} or
   * {@code duplicate} once it is durable, which is when the sender may be told it arrived. An event
   * store that cannot take it is a 503: the sender tries again later.
   */
  private Future<String> raise(JsonObject event) {
    return vertx.eventBus().<JsonObject>request(Addresses.EVENTS_INBOUND, event)
        .map(reply -> String.valueOf(reply.body().getString("status")))
        .recover(e -> {
          Failure f = Failure.from(e);
          return Future.failedFuture(f.status() >= 500 && f.status() != 503
              ? Failure.unavailable("store_unavailable", "the event store did not take the event: " + f.getMessage()) : f);
        });
  }

  /** The fields every event has. */
  private static JsonObject event(String id, String type) {
    return new JsonObject().put("id", id).put("type", type).put("time", Instant.now().toString());
  }

  /**
   * A platform message as the contract shapes it: who, where, what, and in {@code reply} what an
   * agent needs to answer in place (the channel target, the conversation history key and turns,
   * the memory scopes, the skills the bot names), so that a rule's {@code agent: {reply: true}} needs nothing else.
   */
  private static JsonObject message(String id, String platform, String bot, String conversation, boolean group,
                                    String senderId, String senderName, String text, boolean mentioned, JsonObject raw,
                                    JsonObject address, InboundPolicy policy) {
    String key = policy.conversationKey(platform, bot, conversation, group, senderId);
    return event(id, "message")
        .put("platform", platform)
        .put("bot", bot)
        .put("conversation", new JsonObject().put("id", conversation).put("type", group ? "group" : "direct"))
        .put("sender", new JsonObject().put("id", senderId).put("name", senderName))
        .put("text", text)
        .put("mentioned", mentioned)
        .put("raw", raw)
        .put("reply", new JsonObject()
            .put("target", new JsonObject().put("type", platform).put("bot", bot).put("address", address))
            .put("conversation", new JsonObject().put("key", key).put("turns", policy.historyTurns()))
            .put("memory_scopes", new JsonArray(memoryScopes(platform, conversation, senderId, group)))
            .mergeIn(policy.skills() == null ? new JsonObject()
                : new JsonObject().put("skills", new JsonArray(new java.util.ArrayList<>(policy.skills())))));
  }

  /**
   * How long a signed request must stay claimed so that no replay of it can be accepted: its
   * timestamp may be up to a window ahead of now and is accepted until a window after itself.
   */
  private static Duration replayTtl(Duration window) {
    return window.multipliedBy(2);
  }

  private static Failure tooLarge(String what, int max) {
    return new Failure(413, "invalid_request_error", "payload_too_large",
        what + " is larger than " + max / 1024 + " KB; the platform sends far smaller ones");
  }

  private static boolean sameAscii(String expected, String given) {
    return MessageDigest.isEqual(expected.getBytes(StandardCharsets.US_ASCII), given.getBytes(StandardCharsets.US_ASCII));
  }

  private static <T> void answer(Message<?> message, Future<T> result) {
    result.onSuccess(message::reply).onFailure(e -> Failure.reply(message, e));
  }

  /** Unix seconds (Feishu, WeCom, generic hooks), or null when it is not a number. */
  private static Long seconds(String header) {
    try {
      return Long.parseLong(header == null ? "" : header.trim());
    } catch (NumberFormatException e) {
      return null;
    }
  }

  private static boolean within(long tsSeconds, Duration window) {
    return Math.abs(Instant.now().getEpochSecond() - tsSeconds) <= window.toSeconds();
  }

  // ---------------------------------------------------------------------------------------------
  // generic webhooks

  private void receive(Message<InboundHook> message) {
    InboundHook hook = message.body();
    String secret = settings.inboundHooks().get(hook.name());
    if (secret == null) {
      Failure.reply(message, Failure.notFound("hook_not_found", "no inbound webhook named '" + hook.name() + "'"));
      return;
    }
    if (secret.isEmpty()) {
      Failure.reply(message, Failure.unavailable("hook_off", "inbound webhook '" + hook.name() + "' is off: "
          + settings.inboundHooksOff().getOrDefault(hook.name(), "secret unset")));
      return;
    }
    Long ts = seconds(hook.timestamp());
    if (ts == null) {
      Failure.reply(message, Failure.unauthorized("x-switchboard-timestamp must be unix seconds"));
      return;
    }
    if (!within(ts, WINDOW)) {
      Failure.reply(message, Failure.unauthorized("x-switchboard-timestamp is more than 5 minutes away from now"));
      return;
    }
    record Checked(String signature, JsonObject body) {
    }
    Future<JsonObject> result = offLoop(() -> {
      String expected = WebhookBot.signature(secret, ts, hook.body());
      String given = hook.signature() == null ? "" : hook.signature().trim();
      if (!sameAscii(expected, given)) {
        throw Failure.unauthorized("x-switchboard-signature does not match the body");
      }
      try {
        return new Checked(expected, hook.body().toJsonObject());
      } catch (RuntimeException e) {
        throw Failure.badRequest("invalid_json", "the webhook body must be a JSON object");
      }
    }).compose(checked -> {
      String id = hook.deliveryId() != null && !hook.deliveryId().isBlank() ? hook.deliveryId().trim() : null;
      // the signature covers timestamp and body, the delivery header nothing: a captured request
      // sent again is the same signature whatever header it carries
      String signature = checked.signature().substring("sha256=".length());
      // the delivery id is the sender's own dedup key; without one, the signed request is the event
      String eventId = "webhook:" + hook.name() + ":" + (id != null ? id : "sig:" + signature);
      JsonObject event = event(eventId, "webhook")
          .put("hook", hook.name())
          .put("delivery", id)
          .put("body", checked.body())
          .put("headers", hook.headers() == null ? new JsonObject() : hook.headers());
      return once("hook:" + hook.name() + ":sig:" + signature, replayTtl(WINDOW), () -> raise(event), "duplicate")
          .map(status -> new JsonObject().put("status", status).put("id", eventId).put("delivery", id));
    });
    answer(message, result);
  }

  // ---------------------------------------------------------------------------------------------
  // DingTalk

  private void dingtalk(Message<InboundDingTalk> message) {
    InboundDingTalk in = message.body();
    DingTalkApp app = settings.dingtalkApps().get(in.bot());
    if (app == null) {
      Failure.reply(message, Failure.notFound("bot_not_found", "no dingtalk app robot named '" + in.bot() + "'"));
      return;
    }
    if (app.offReason() != null) {
      Failure.reply(message, Failure.unavailable("bot_off", "dingtalk robot '" + in.bot() + "' is off: " + app.offReason()));
      return;
    }
    Buffer raw = in.body() == null ? Buffer.buffer() : in.body();
    if (raw.length() > DINGTALK_MAX_BODY_BYTES) {
      Failure.reply(message, tooLarge("the callback body", DINGTALK_MAX_BODY_BYTES));
      return;
    }
    long ts;
    try {
      ts = Long.parseLong(in.timestamp() == null ? "" : in.timestamp().trim());
    } catch (NumberFormatException e) {
      Failure.reply(message, Failure.unauthorized("the timestamp header must be epoch milliseconds"));
      return;
    }
    if (Math.abs(System.currentTimeMillis() - ts) > DINGTALK_WINDOW.toMillis()) {
      Failure.reply(message, Failure.unauthorized("the timestamp header is more than an hour away from now"));
      return;
    }
    // the HMAC of a timestamp: small and of fixed size, so it is checked right here
    String sign = in.sign() == null ? "" : in.sign().trim();
    if (!sameAscii(app.expectedSign(ts), sign)) {
      Failure.reply(message, Failure.unauthorized("the sign header does not match"));
      return;
    }
    // the sign covers the timestamp only, not the body: a pair carries the body it came with first
    // and no other, and that same body again is DingTalk retrying (after a 5xx, say)
    String pair = "dingtalk-sign:" + in.bot() + ":" + ts + ":" + sign;
    Future<JsonObject> result = offLoop(() -> sha256Hex(raw))
        .compose(bodyHash -> pairedWith(pair, bodyHash))
        .compose(v -> offLoop(() -> {
          JsonObject body;
          try {
            body = raw.toJsonObject();
          } catch (RuntimeException e) {
            throw Failure.badRequest("invalid_json", "the callback body must be a JSON object");
          }
          return new DingTalkIn(DingTalkMessage.from(body), body);
        }))
        .compose(read -> answerDingTalk(app, read.message(), read.body()));
    answer(message, result);
  }

  /**
   * Binds the timestamp+sign {@code pair} to the body with {@code bodyHash}, or checks that it is
   * bound to that body already: another body under a pair seen before is a replay (401). The same
   * body goes on, and its msgId claim makes sure that it is answered once.
   */
  private Future<Void> pairedWith(String pair, String bodyHash) {
    return claims.begin(pair, HANDLING).recover(e -> Future.failedFuture(unavailable(e))).compose(claim -> switch (claim.state()) {
      case TAKEN -> claims.done(pair, replayTtl(DINGTALK_WINDOW), bodyHash)
          .recover(e -> claims.release(pair, claim.value()).transform(r -> Future.failedFuture(unavailable(e))));
      case DONE -> bodyHash.equals(claim.value()) ? Future.<Void>succeededFuture()
          : Future.failedFuture(Failure.unauthorized(
              "this timestamp and sign came with another body: a callback signs one message, a replay is refused"));
      case BUSY -> Future.failedFuture(Failure.unavailable("in_progress",
          "this timestamp and sign are being checked right now; the next delivery gets the answer"));
    });
  }

  /** A DingTalk robot message as read, with the body it was read from (the event's raw). */
  private record DingTalkIn(DingTalkMessage message, JsonObject body) {
  }

  private static String sha256Hex(Buffer data) {
    try {
      return java.util.HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data.getBytes()));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A robot message from Stream mode: the connection was authenticated when it was opened. */
  private void dingtalkStreamMessage(Message<JsonObject> message) {
    String bot = message.body().getValue("bot") instanceof String b ? b : "";
    DingTalkApp app = settings.dingtalkApps().get(bot);
    if (app == null) {
      Failure.reply(message, Failure.notFound("bot_not_found", "no dingtalk app robot named '" + bot + "'"));
      return;
    }
    Object body = message.body().getValue("message");
    if (!(body instanceof JsonObject robotMessage)) {
      Failure.reply(message, Failure.badRequest("invalid_message", "the stream message is not a JSON object"));
      return;
    }
    answer(message, offLoop(() -> DingTalkMessage.from(robotMessage)).compose(msg -> answerDingTalk(app, msg, robotMessage)));
  }

  /**
   * A text message becomes one event per msgId, whichever way it came in, answered (by a rule)
   * through the message's sessionWebhook.
   */
  private Future<JsonObject> answerDingTalk(DingTalkApp app, DingTalkMessage m, JsonObject raw) {
    String bot = app.name();
    if (m.ignored() != null) {
      // pictures, files and the like have no answer yet; acknowledged so the platform does not resend
      return Future.succeededFuture(new JsonObject().put("status", "ignored").put("reason", m.ignored()));
    }
    String refusal = app.sessionWebhookRefusal(m.sessionWebhook());
    if (refusal != null) {
      LOG.warning("dingtalk robot '" + bot + "': message " + m.msgId() + " refused: " + refusal);
      return Future.failedFuture(Failure.badRequest("session_webhook_refused", refusal));
    }
    List<String> sender = new java.util.ArrayList<>();
    if (m.senderStaffId() != null) {
      sender.add(m.senderStaffId());
    }
    if (m.senderId() != null) {
      sender.add(m.senderId());
    }
    InboundPolicy policy = settings.policy("dingtalk", bot);
    if (!policy.allows(sender, m.conversationId())) {
      return Future.succeededFuture(new JsonObject().put("status", "ignored").put("reason", "not allowed by the bot's policy"));
    }
    JsonArray at = new JsonArray();
    if (m.group() && m.senderStaffId() != null) {
      at.add(m.senderStaffId());
    }
    JsonObject address = new JsonObject()
        .put("session_webhook", m.sessionWebhook())
        .put("expires_at", m.sessionWebhookExpiredTime())
        .put("conversation_id", m.conversationId())
        .put("conversation_type", m.group() ? "2" : "1")
        .put("sender_staff_id", m.senderStaffId())
        .put("at_user_ids", at);
    String conversationId = m.conversationId() != null ? m.conversationId() : m.sessionWebhook();
    String first = sender.isEmpty() ? null : sender.get(0);
    String eventId = "dingtalk:" + bot + ":" + m.msgId();
    String nick = raw.getValue("senderNick") instanceof String n ? Texts.clip(n, 256) : null;
    JsonObject event = message(eventId, "dingtalk", bot, conversationId, m.group(), first, nick, m.text(),
        policy.addressed(m.group(), m.mentioned()), raw, address, policy);
    // a re-delivery is answered as the first delivery was: DingTalk only needs to hear it arrived
    return raise(event).map(status -> new JsonObject().put("status", "accepted").put("event_id", eventId));
  }

  /**
   * Long-term memory a chat message may use. A group uses its own scope only: what someone said
   * elsewhere, in private or in another group, never surfaces in front of this group. A direct chat
   * uses the person's scope (first: where the agent remembers by default) and its own.
   */
  private static List<String> memoryScopes(String platform, String conversation, String sender, boolean group) {
    List<String> scopes = new java.util.ArrayList<>();
    if (!group && sender != null && !sender.isBlank()) {
      scopes.add("user:" + platform + ":" + sender);
    }
    if (conversation != null && !conversation.isBlank()) {
      scopes.add("conversation:" + platform + ":" + conversation);
    }
    return scopes;
  }

  // ---------------------------------------------------------------------------------------------
  // Feishu

  private static final JsonObject FEISHU_OK = new JsonObject().put("msg", "success");

  /** A Feishu request once verified and read: the challenge to echo, or the event to act on. */
  private record FeishuIn(String challenge, JsonObject event) {
  }

  /**
   * Feishu/Lark events: the challenge is answered in plain text (decrypted first when the app
   * encrypts); other events must carry a valid signature within the timestamp window (when an
   * encrypt key is set) and the verification token. A signed request seen before is a duplicate.
   * A text message becomes a task, once per event id, answered as a reply.
   */
  private void feishu(Message<InboundFeishu> message) {
    InboundFeishu in = message.body();
    FeishuApp app = settings.feishuApps().get(in.bot());
    if (app == null) {
      Failure.reply(message, Failure.notFound("bot_not_found", "no feishu app bot named '" + in.bot() + "'"));
      return;
    }
    if (app.offReason() != null) {
      Failure.reply(message, Failure.unavailable("bot_off", "feishu bot '" + in.bot() + "' is off: " + app.offReason()));
      return;
    }
    if (app.longConnection()) {
      // nothing here could check such a request: this app has no token or key, its events come over its own connection
      Failure.reply(message, Failure.notFound("bot_not_found", "feishu bot '" + in.bot() + "' takes events over its long connection, not here"));
      return;
    }
    Buffer raw = in.body() == null ? Buffer.buffer() : in.body();
    if (raw.length() > FeishuApp.MAX_BODY_BYTES) {
      Failure.reply(message, tooLarge("the event body", FeishuApp.MAX_BODY_BYTES));
      return;
    }
    boolean encrypted = !app.encryptKey().isEmpty();
    String given = in.signature() == null ? "" : in.signature().trim().toLowerCase();
    boolean signed = encrypted && !given.isEmpty();
    if (signed) {
      Long ts = seconds(in.timestamp());
      if (ts == null) {
        Failure.reply(message, Failure.unauthorized("X-Lark-Request-Timestamp must be unix seconds"));
        return;
      }
      if (!within(ts, app.timestampWindow())) {
        Failure.reply(message, Failure.unauthorized("X-Lark-Request-Timestamp is more than "
            + app.timestampWindow().toSeconds() + " s away from now"));
        return;
      }
    }
    Future<FeishuIn> read = offLoop(() -> {
      // a signature that is there must match before anything is parsed or decrypted (one linear
      // hash of the body); only a request without one, which the challenge is (Feishu does not
      // sign it), gets as far as decryption, and then only the challenge is taken from it
      if (signed && !sameAscii(app.signature(in.timestamp(), String.valueOf(in.nonce()), raw.getBytes()), given)) {
        throw Failure.unauthorized("X-Lark-Signature does not match the body");
      }
      boolean verified = signed;
      JsonObject event;
      try {
        JsonObject outer = raw.toJsonObject();
        if (outer.getValue("encrypt") instanceof String sealed) {
          if (!encrypted) {
            throw Failure.badRequest("encrypted_without_key", "the event is encrypted but no encrypt_key is configured");
          }
          event = new JsonObject(app.decrypt(sealed));
        } else {
          event = outer;
        }
      } catch (Failure f) {
        throw f;
      } catch (RuntimeException e) {
        throw Failure.badRequest("invalid_event", "the event body cannot be read: " + e.getMessage());
      }
      if ("url_verification".equals(event.getValue("type"))) {
        if (!app.verificationToken().isEmpty() && !app.verificationToken().equals(event.getValue("token"))) {
          throw Failure.unauthorized("the verification token does not match");
        }
        return new FeishuIn(event.getValue("challenge") instanceof String c ? c : "", null);
      }
      if (encrypted && !verified) {
        throw Failure.unauthorized("X-Lark-Signature is missing");
      }
      return new FeishuIn(null, event);
    });
    Future<JsonObject> result = read.compose(feishuIn -> {
      if (feishuIn.challenge() != null) {
        return Future.succeededFuture(new JsonObject().put("challenge", feishuIn.challenge()));
      }
      // a replay of a signed request is the same message again: answered, not acted on
      return signed
          ? once("feishu-sig:" + in.bot() + ":" + given, replayTtl(app.timestampWindow()),
              () -> feishuEvent(app, feishuIn.event()).map(JsonObject::encode), FEISHU_OK.encode()).map(JsonObject::new)
          : feishuEvent(app, feishuIn.event());
    });
    answer(message, result);
  }

  /** An event from a long connection: authenticated when the connection was opened. */
  private void feishuConnectionEvent(Message<JsonObject> message) {
    FeishuApp app = settings.feishuApps().get(String.valueOf(message.body().getValue("bot")));
    if (app == null || !(message.body().getValue("event") instanceof JsonObject event)) {
      Failure.reply(message, Failure.badRequest("invalid_event", "no feishu app of that name, or the event is not a JSON object"));
      return;
    }
    answer(message, feishuEvent(app, event));
  }

  private Future<JsonObject> feishuEvent(FeishuApp app, JsonObject event) {
    String bot = app.name();
    JsonObject header = event.getValue("header") instanceof JsonObject h ? h : new JsonObject();
    if (!app.verificationToken().isEmpty() && !app.verificationToken().equals(header.getValue("token"))) {
      return Future.failedFuture(Failure.unauthorized("the verification token does not match"));
    }
    JsonObject eventBody = event.getValue("event") instanceof JsonObject e ? e : new JsonObject();
    JsonObject msg = eventBody.getValue("message") instanceof JsonObject m ? m : new JsonObject();
    String eventId = header.getValue("event_id") instanceof String id ? id : null;
    String messageId = msg.getValue("message_id") instanceof String id ? id : null;
    String chatId = msg.getValue("chat_id") instanceof String id ? id : null;
    String text = "";
    if ("im.message.receive_v1".equals(header.getValue("event_type")) && "text".equals(msg.getValue("message_type"))
        && msg.getValue("content") instanceof String content) {
      try {
        text = new JsonObject(content).getValue("text") instanceof String t ? t : "";
      } catch (RuntimeException e) {
        text = "";
      }
      // mentions arrive as placeholders (@_user_1); the bot's own name is not part of the question
      // (a pattern without nested or lazy repetition: linear in the text)
      text = text.replaceAll("@_user_\\d+", "").trim();
    }
    List<String> sender = new java.util.ArrayList<>();
    JsonObject senderObject = eventBody.getValue("sender") instanceof JsonObject s ? s : new JsonObject();
    JsonObject senderIds = senderObject.getValue("sender_id") instanceof JsonObject ids ? ids : new JsonObject();
    for (String key : new String[] {"open_id", "user_id", "union_id"}) {
      if (senderIds.getValue(key) instanceof String id) {
        sender.add(id);
      }
    }
    boolean group = "group".equals(msg.getValue("chat_type"));
    boolean mentioned = msg.getValue("mentions") instanceof JsonArray mentions && !mentions.isEmpty();
    InboundPolicy policy = settings.policy("feishu", bot);
    if (text.isEmpty() || eventId == null || messageId == null || !policy.allows(sender, chatId)) {
      return Future.succeededFuture(FEISHU_OK);
    }
    JsonObject address = new JsonObject().put("message_id", messageId).put("chat_id", chatId);
    String chat = chatId != null ? chatId : messageId;
    JsonObject normalised = message("feishu:" + bot + ":" + eventId, "feishu", bot, chat, group,
        sender.isEmpty() ? null : sender.get(0), null, text, policy.addressed(group, mentioned), event, address, policy);
    // a re-delivery (Feishu sends the event again until it hears success) is answered success
    return raise(normalised).map(status -> FEISHU_OK);
  }

  // ---------------------------------------------------------------------------------------------
  // WeCom

  /** A WeCom request once verified and decrypted: the echo to answer, or the message's fields. */
  private record WeComIn(String echo, Map<String, String> fields) {
  }

  /**
   * WeCom app callbacks: the URL check answers the decrypted echo; a message is checked (timestamp
   * window, signature), decrypted (32-byte padding), its signature claimed against replays, and a
   * text message stored as an event (its MsgId the dedup key) whose reply target is the sender.
   */
  private void wecom(Message<InboundWeCom> message) {
    InboundWeCom in = message.body();
    WeComApp app = settings.wecomApps().get(in.bot());
    if (app == null) {
      Failure.reply(message, Failure.notFound("bot_not_found", "no wecom app named '" + in.bot() + "'"));
      return;
    }
    if (app.offReason() != null) {
      Failure.reply(message, Failure.unavailable("bot_off", "wecom app '" + in.bot() + "' is off: " + app.offReason()));
      return;
    }
    Buffer raw = in.body() == null ? Buffer.buffer() : in.body();
    if (raw.length() > WeComApp.MAX_BODY_BYTES || in.echostr() != null && in.echostr().length() > WeComApp.MAX_BODY_BYTES) {
      Failure.reply(message, tooLarge("the callback", WeComApp.MAX_BODY_BYTES));
      return;
    }
    Long ts = seconds(in.timestamp());
    if (ts == null) {
      Failure.reply(message, Failure.unauthorized("the timestamp parameter must be unix seconds"));
      return;
    }
    if (!within(ts, app.timestampWindow())) {
      Failure.reply(message, Failure.unauthorized("the timestamp parameter is more than "
          + app.timestampWindow().toSeconds() + " s away from now"));
      return;
    }
    String given = in.signature() == null ? "" : in.signature().trim().toLowerCase();
    Future<WeComIn> read = offLoop(() -> {
      String encrypted;
      if (in.echostr() != null) {
        encrypted = in.echostr();
      } else {
        encrypted = FlatXml.child(raw.toString(StandardCharsets.UTF_8), "Encrypt");
        if (encrypted == null) {
          throw Failure.badRequest("invalid_xml", "the callback body has no Encrypt element");
        }
      }
      if (!sameAscii(app.signature(in.timestamp(), String.valueOf(in.nonce()), encrypted), given)) {
        throw Failure.unauthorized("msg_signature does not match");
      }
      WeComApp.Opened opened;
      try {
        opened = app.decrypt(encrypted);
      } catch (IllegalArgumentException e) {
        throw Failure.badRequest("undecryptable", "the callback cannot be decrypted: " + e.getMessage());
      }
      if (!app.corpId().equals(opened.receiveId())) {
        throw Failure.unauthorized("the message was sealed for another receiver");
      }
      if (in.echostr() != null) {
        return new WeComIn(opened.message(), null);
      }
      Map<String, String> fields = FlatXml.children(opened.message());
      if (fields == null) {
        throw Failure.badRequest("invalid_xml", "the decrypted message is not WeCom's flat XML");
      }
      return new WeComIn(null, fields);
    });
    Future<String> result = read.compose(wecomIn -> {
      if (wecomIn.echo() != null) {
        return Future.succeededFuture(wecomIn.echo());
      }
      Map<String, String> fields = wecomIn.fields();
      String msgId = fields.get("MsgId");
      String from = fields.get("FromUserName");
      String text = fields.get("Content") != null ? fields.get("Content").trim() : "";
      InboundPolicy policy = settings.policy("wecom", in.bot());
      if (!policy.allows(from == null ? List.of() : List.of(from), from)) {
        return Future.succeededFuture("success");
      }
      // callbacks without a MsgId (enter_agent, menu clicks...) are told apart by who, when and what
      String id = msgId != null ? msgId
          : from != null && fields.get("CreateTime") != null ? "evt:" + from + ":" + fields.get("CreateTime") + ":" + fields.get("Event")
          : "sig:" + given;
      JsonObject fieldsJson = new JsonObject();
      fields.forEach(fieldsJson::put);
      // an app's messages come from one person to the app: a direct conversation, answered to that person
      // the address WeComReplyBot answers: message/send to that member, with the app's own agent id
      JsonObject address = new JsonObject().put("touser", from);
      // only a text is addressed to the app for an answer; pictures, voice and app events are there for rules
      JsonObject event = message("wecom:" + in.bot() + ":" + id, "wecom", in.bot(), from, false, from, null, text,
          "text".equals(fields.get("MsgType")) && from != null && !text.isEmpty(), fieldsJson, address, policy);
      // the signature claim catches replays; WeCom's own re-deliveries are signed afresh, and their
      // MsgId (the event id) makes them duplicates
      return once("wecom-sig:" + in.bot() + ":" + given, replayTtl(app.timestampWindow()), () -> raise(event), "duplicate")
          .map(status -> "success");
    });
    answer(message, result);
  }

  // ---------------------------------------------------------------------------------------------
  // Alertmanager

  /**
   * Alertmanager's webhook notifications ({@code POST /webhooks/alertmanager/{name}}): a Bearer
   * token or our hooks' signature, then one {@code alert} event per notification. Alertmanager
   * sends a notification again, with the same body, when it got no answer: the body is claimed
   * for {@link #ALERT_REPEAT}, so that such a retry is a duplicate.
   */
  private void alert(Message<InboundAlert> message) {
    InboundAlert in = message.body();
    AlertReceiver receiver = settings.alertReceivers().get(in.name());
    if (receiver == null) {
      Failure.reply(message, Failure.notFound("receiver_not_found", "no alertmanager receiver named '" + in.name() + "'"));
      return;
    }
    if (receiver.offReason() != null) {
      Failure.reply(message, Failure.unavailable("receiver_off", "alertmanager receiver '" + in.name() + "' is off: "
          + receiver.offReason()));
      return;
    }
    Buffer raw = in.body() == null ? Buffer.buffer() : in.body();
    String auth = in.authorization() == null ? "" : in.authorization().trim();
    boolean byToken = !receiver.token().isEmpty() && auth.regionMatches(true, 0, "Bearer ", 0, 7)
        && MessageDigest.isEqual(receiver.token().getBytes(StandardCharsets.UTF_8),
            auth.substring(7).trim().getBytes(StandardCharsets.UTF_8));
    Long ts = seconds(in.timestamp());
    boolean maySign = !receiver.secret().isEmpty() && in.signature() != null && ts != null && within(ts, WINDOW);
    if (!byToken && !maySign) {
      Failure.reply(message, Failure.unauthorized(receiver.token().isEmpty()
          ? "x-switchboard-timestamp (unix seconds, within 5 minutes) and x-switchboard-signature are needed"
          : "Authorization: Bearer <token> does not match"));
      return;
    }
    record Read(JsonObject body, String hash) {
    }
    Future<JsonObject> result = offLoop(() -> {
      if (!byToken && !sameAscii(WebhookBot.signature(receiver.secret(), ts, raw), in.signature().trim())) {
        throw Failure.unauthorized("x-switchboard-signature does not match the body");
      }
      JsonObject body;
      try {
        body = raw.toJsonObject();
      } catch (RuntimeException e) {
        throw Failure.badRequest("invalid_json", "an Alertmanager notification is a JSON object");
      }
      if (body == null) {
        throw Failure.badRequest("invalid_json", "an Alertmanager notification is a JSON object");
      }
      return new Read(body, sha256Hex(raw));
    }).compose(read -> {
      // a notification has no id of its own: its body, and when it came, are the event
      String eventId = "alert:" + in.name() + ":" + read.hash().substring(0, 16) + ":" + System.currentTimeMillis();
      JsonObject event = event(eventId, "alert")
          .put("name", in.name())
          .put("alerts", read.body().getValue("alerts") instanceof JsonArray a ? a : new JsonArray())
          .put("body", read.body());
      return once("alert:" + in.name() + ":" + read.hash(), ALERT_REPEAT, () -> raise(event), "duplicate")
          .map(status -> new JsonObject().put("status", status).put("id", "duplicate".equals(status) ? null : eventId));
    });
    answer(message, result);
  }

  // ---------------------------------------------------------------------------------------------
  // plug-in channels

  /**
   * A request for a plug-in channel's bot ({@link Inbound}): the plug-in verifies and reads it (on
   * the inbound workers when it blocks); a message it read, if its sender is allowed, is stored as
   * an event (its id the dedup key: a re-delivery is answered again, stored once) before the
   * platform gets the plug-in's answer.
   */
  private void plugin(Message<InboundPlugin> message) {
    InboundPlugin in = message.body();
    Map<String, Inbound> bots = settings.pluginInbound().get(in.platform());
    if (bots == null) {
      Failure.reply(message, Failure.notFound("platform_not_found", "no channel '" + in.platform() + "' takes requests here"));
      return;
    }
    Inbound inbound = bots.get(in.bot());
    if (inbound == null) {
      Failure.reply(message, Failure.notFound("bot_not_found", "no " + in.platform() + " bot named '" + in.bot() + "' takes requests"));
      return;
    }
    String off = inbound.offReason();
    if (off != null) {
      Failure.reply(message, Failure.unavailable("bot_off", in.platform() + " bot '" + in.bot() + "' is off: " + off));
      return;
    }
    Inbound.Request request = new Inbound.Request(in.platform(), in.bot(), in.method(), in.headers(), in.query(),
        in.body() == null ? Buffer.buffer() : in.body());
    Callable<Future<Inbound.Result>> call = () -> {
      Future<Inbound.Result> f = inbound.handle(request);
      return f != null ? f : Future.failedFuture(new IllegalStateException("handle answered null"));
    };
    Future<Inbound.Result> handled = inbound.blocking()
        ? cpu.executeBlocking(call, false).compose(f -> f)
        : Future.<Future<Inbound.Result>>future(p -> {
            try {
              p.complete(call.call());
            } catch (Exception e) {
              p.fail(e);
            }
          }).compose(f -> f);
    Future<InboundPlugin.Answer> result = handled
        .recover(e -> Future.failedFuture(e instanceof Failure ? e
            : Failure.internal("the " + in.platform() + " plug-in failed: " + e)))
        .compose(r -> {
          Inbound.Message m = r.message();
          InboundPolicy policy = settings.policy(in.platform(), in.bot());
          if (m == null || !policy.allows(m.senderId() == null ? List.of() : List.of(m.senderId()), m.conversation())) {
            return Future.succeededFuture(r);
          }
          JsonObject event = message(in.platform() + ":" + in.bot() + ":" + m.id(), in.platform(), in.bot(), m.conversation(),
              m.group(), m.senderId(), m.senderName(), m.text(), policy.addressed(m.group(), m.mentioned()),
              m.raw(), m.address(), policy);
          return raise(event).map(status -> r);
        })
        .map(r -> new InboundPlugin.Answer(r.status(), r.headers() == null ? Map.of() : r.headers(),
            r.body() == null ? Buffer.buffer() : r.body()));
    answer(message, result);
  }
}
