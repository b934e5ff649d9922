package dev.switchboard.channel;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.Failure;
import dev.switchboard.bus.InboundHook;
import dev.switchboard.store.EmbeddedStore;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;

/**
 * Generic inbound webhooks ({@code POST /webhooks/hooks/{name}}): checks the signature and its
 * timestamp, claims the sender's delivery id so that a re-delivery is accepted once, and publishes
 * the JSON body as an event for the rules.
 */
public final class InboundWebhookVerticle extends VerticleBase {

  /** A timestamp further than this from now is refused (replays, clock trouble). */
  static final Duration WINDOW = Duration.ofMinutes(5);
  /** How long a delivery id stays claimed; platforms re-deliver for hours, not days. */
  static final Duration CLAIM_TTL = Duration.ofHours(24);

  private final ChannelSettings settings;
  private final Path dataDir;
  private ClaimStore claims;
  private EmbeddedStore store;
  private long sweeper = -1;

  public InboundWebhookVerticle(ChannelSettings settings, Path dataDir) {
    this.settings = settings;
    this.dataDir = dataDir;
  }

  @Override
  public Future<?> start() {
    return EmbeddedStore.open(vertx, dataDir)
        .compose(s -> {
          store = s;
          claims = new ClaimStore(s);
          return claims.init();
        })
        .compose(v -> vertx.eventBus().<InboundHook>localConsumer(Addresses.CHANNEL_INBOUND_HOOK, this::receive).completion())
        .onSuccess(v -> sweeper = vertx.setPeriodic(Duration.ofMinutes(10).toMillis(), id -> claims.sweep()));
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(sweeper);
    return store == null ? Future.succeededFuture() : store.close();
  }

  private void receive(Message<InboundHook> message) {
    InboundHook hook = message.body();
    String secret = settings.inboundHooks().get(hook.name());
    if (secret == null) {
      Failure.reply(message, Failure.notFound("hook_not_found", "no inbound webhook named '" + hook.name() + "'"));
      return;
    }
    if (secret.isEmpty()) {
      Failure.reply(message, Failure.unavailable("hook_off", "inbound webhook '" + hook.name() + "' is off: its secret is unset"));
      return;
    }
    long ts;
    try {
      ts = Long.parseLong(hook.timestamp() == null ? "" : hook.timestamp().trim());
    } catch (NumberFormatException e) {
      Failure.reply(message, Failure.unauthorized("x-switchboard-timestamp must be unix seconds"));
      return;
    }
    if (Math.abs(Instant.now().getEpochSecond() - ts) > WINDOW.toSeconds()) {
      Failure.reply(message, Failure.unauthorized("x-switchboard-timestamp is more than 5 minutes away from now"));
      return;
    }
    String expected = WebhookBot.signature(secret, ts, hook.body());
    String given = hook.signature() == null ? "" : hook.signature().trim();
    if (!MessageDigest.isEqual(expected.getBytes(StandardCharsets.US_ASCII), given.getBytes(StandardCharsets.US_ASCII))) {
      Failure.reply(message, Failure.unauthorized("x-switchboard-signature does not match the body"));
      return;
    }
    JsonObject body;
    try {
      body = hook.body().toJsonObject();
    } catch (RuntimeException e) {
      Failure.reply(message, Failure.badRequest("invalid_json", "the webhook body must be a JSON object"));
      return;
    }
    String id = hook.deliveryId() != null && !hook.deliveryId().isBlank() ? hook.deliveryId().trim() : null;
    Future<Boolean> fresh = id == null ? Future.succeededFuture(true) : claims.claim("hook:" + hook.name() + ":" + id, CLAIM_TTL.toMillis());
    fresh.onComplete(ar -> {
      if (ar.failed()) {
        Failure.reply(message, Failure.unavailable("store_unavailable", "the claim store is unavailable: " + ar.cause().getMessage()));
        return;
      }
      if (!ar.result()) {
        message.reply(new JsonObject().put("status", "duplicate").put("delivery", id));
        return;
      }
      String eventId = UUID.randomUUID().toString();
      vertx.eventBus().publish(Addresses.EVENTS_WEBHOOK, new JsonObject()
          .put("id", eventId)
          .put("source", "webhook")
          .put("hook", hook.name())
          .put("delivery", id)
          .put("received_at", Instant.now().toString())
          .put("body", body));
      message.reply(new JsonObject().put("status", "accepted").put("id", eventId));
    });
  }
}
