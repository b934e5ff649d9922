package dev.switchboard.channel;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.Delivery;
import dev.switchboard.bus.Failure;
import dev.switchboard.bus.TaskSubmission;
import dev.switchboard.bus.PushRequest;
import dev.switchboard.observe.Metrics;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.time.Duration;

/**
 * Pushes messages to platform bots. Every push ends in a {@link Delivery} that keeps the platform's
 * answer; DingTalk answers HTTP 200 even for errors, so only {@code errcode == 0} counts as delivered.
 */
public final class ChannelPushVerticle extends VerticleBase {

  static final Duration PUSH_TIMEOUT = Duration.ofSeconds(10);

  private final ChannelSettings settings;
  private HttpClient client;
  private Metrics metrics;

  public ChannelPushVerticle(ChannelSettings settings) {
    this.settings = settings;
  }

  @Override
  public Future<?> start() {
    metrics = Metrics.current();
    client = vertx.createHttpClient(new HttpClientOptions()
        .setConnectTimeout((int) PUSH_TIMEOUT.toMillis())
        .setKeepAlive(true), new io.vertx.core.http.PoolOptions().setHttp1MaxSize(32));
    var bus = vertx.eventBus();
    return Future.all(
        bus.<PushRequest>localConsumer(Addresses.CHANNEL_PUSH, this::push).completion(),
        bus.<TaskSubmission.Target>localConsumer(Addresses.CHANNEL_CHECK, this::check).completion());
  }

  private void check(Message<TaskSubmission.Target> message) {
    var why = settings.unusable(message.body().type(), message.body().bot());
    if (why.isPresent()) {
      Failure.reply(message, Failure.badRequest("channel_unavailable", why.get()));
    } else {
      message.reply(null);
    }
  }

  @Override
  public Future<?> stop() {
    return client.close();
  }

  private void push(Message<PushRequest> message) {
    PushRequest req = message.body();
    var unusable = settings.unusable(req.channel(), req.bot());
    if (unusable.isPresent()) {
      message.reply(finish(req, new JsonObject().put("error", unusable.get()), false));
      return;
    }
    DingTalkBot bot = settings.dingtalk(req.bot()).orElseThrow();
    String url = DingTalkSigner.signedUrl(bot.webhook(), bot.secret(), System.currentTimeMillis());
    RequestOptions options = new RequestOptions()
        .setMethod(HttpMethod.POST)
        .setAbsoluteURI(url)
        .setConnectTimeout(PUSH_TIMEOUT.toMillis())
        .setIdleTimeout(PUSH_TIMEOUT.toMillis())
        .putHeader(HttpHeaderNames.CONTENT_TYPE, "application/json; charset=utf-8");
    client.request(options)
        .compose(r -> r.send(bot.textMessage(req.text()).toBuffer()))
        .compose(resp -> resp.body().map(body -> answer(resp.statusCode(), body.toString())))
        .onComplete(ar -> {
          JsonObject response = ar.succeeded() ? ar.result()
              : new JsonObject().put("error", String.valueOf(ar.cause().getMessage()));
          boolean ok = ar.succeeded() && response.getInteger("http_status", 0) == 200
              && Integer.valueOf(0).equals(response.getValue("errcode"));
          message.reply(finish(req, response, ok));
        });
  }

  /** The platform's answer as recorded: HTTP status, and errcode/errmsg when the body has them. */
  private static JsonObject answer(int status, String body) {
    JsonObject out = new JsonObject().put("http_status", status);
    try {
      JsonObject json = new JsonObject(body);
      out.put("errcode", json.getValue("errcode") instanceof Number n ? n.intValue() : json.getValue("errcode"));
      out.put("errmsg", json.getValue("errmsg"));
    } catch (RuntimeException notJson) {
      out.put("body", body.length() > 500 ? body.substring(0, 500) : body);
    }
    return out;
  }

  private Delivery finish(PushRequest req, JsonObject response, boolean ok) {
    String status = ok ? Delivery.DELIVERED : Delivery.FAILED;
    metrics.push(req.channel(), req.bot(), status);
    return new Delivery(req.channel(), req.bot(), status, 1, response);
  }
}
