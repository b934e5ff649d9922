package dev.switchboard.model;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.ChatCall;
import dev.switchboard.bus.Failure;
import dev.switchboard.bus.Health;
import dev.switchboard.bus.StreamEvent;
import dev.switchboard.bus.UpstreamReply;
import dev.switchboard.observe.Metrics;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.Message;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Owns the upstream model providers. Chat calls arrive on the bus, go to the provider that serves
 * the requested model, and come back verbatim (non-streaming) or as a relayed stream.
 */
public final class ModelDispatchVerticle extends VerticleBase {

  private final ModelSettings settings;
  private final Map<String, Upstream> upstreams = new LinkedHashMap<>();
  private final Map<String, StreamRelay> streams = new HashMap<>();
  private Metrics metrics;

  public ModelDispatchVerticle(ModelSettings settings) {
    this.settings = settings;
  }

  @Override
  public Future<?> start() {
    metrics = Metrics.current();
    for (ProviderSettings p : settings.providers()) {
      if (p.enabled()) {
        upstreams.put(p.name(), new Upstream(vertx, p));
      }
    }
    var bus = vertx.eventBus();
    return Future.all(List.of(
        bus.<ChatCall>localConsumer(Addresses.MODEL_CHAT, this::chat).completion(),
        bus.<ChatCall>localConsumer(Addresses.MODEL_CHAT_STREAM, this::chatStream).completion(),
        bus.<String>localConsumer(Addresses.MODEL_CANCEL, this::cancel).completion(),
        bus.<Void>localConsumer(Addresses.MODEL_LIST, this::listModels).completion(),
        bus.<Void>localConsumer(Addresses.MODEL_HEALTH, this::health).completion()));
  }

  @Override
  public Future<?> stop() {
    List<Future<?>> closing = new ArrayList<>();
    upstreams.values().forEach(u -> closing.add(u.client.close()));
    return Future.join(closing);
  }

  private void chat(Message<ChatCall> message) {
    ChatCall call = message.body();
    Upstream upstream;
    try {
      upstream = route(call.model());
    } catch (Failure f) {
      message.fail(f.status(), f.encode());
      return;
    }
    long started = System.nanoTime();
    Buffer body = call.body().toBuffer();
    upstream.exchange(vertx, upstream.request(HttpMethod.POST, "/chat/completions"), body)
        .compose(answer -> answer.status() == 200
            ? Future.succeededFuture(new UpstreamReply(200, answer.contentType(), answer.body()))
            : Future.failedFuture(upstream.fromStatus(answer.status(), answer.body())))
        .onComplete(ar -> {
          String outcome = outcome(ar.cause());
          account(upstream, call.model(), outcome, started, ar.cause());
          if (ar.succeeded()) {
            message.reply(ar.result());
          } else {
            Failure f = Failure.from(ar.cause());
            message.fail(f.status(), f.encode());
          }
        });
  }

  private void chatStream(Message<ChatCall> message) {
    ChatCall call = message.body();
    String address = call.streamAddress();
    Upstream upstream;
    try {
      upstream = route(call.model());
    } catch (Failure f) {
      message.fail(f.status(), f.encode());
      return;
    }
    message.reply(null);
    JsonObject body = call.body();
    StreamRelay relay = new StreamRelay(vertx, address, upstream, call.model(), (r, outcome, failure) -> {
      streams.remove(r.address());
      account(r.upstream(), r.model(), outcome, r.startedNanos, failure);
    });
    streams.put(address, relay);
    relay.start(body.toBuffer());
  }

  private void cancel(Message<String> message) {
    StreamRelay relay = streams.get(message.body());
    if (relay != null) {
      relay.cancel();
    }
  }

  private void listModels(Message<Void> message) {
    if (upstreams.isEmpty()) {
      Failure f = noProvider();
      message.fail(f.status(), f.encode());
      return;
    }
    List<Future<JsonArray>> lists = new ArrayList<>();
    for (Upstream u : upstreams.values()) {
      lists.add(modelsOf(u));
    }
    Future.join(lists).onComplete(ignored -> {
      Map<String, JsonObject> byId = new LinkedHashMap<>();
      Throwable firstFailure = null;
      for (Future<JsonArray> f : lists) {
        if (f.failed()) {
          firstFailure = firstFailure == null ? f.cause() : firstFailure;
          continue;
        }
        for (Object o : f.result()) {
          if (o instanceof JsonObject m && m.getString("id") != null) {
            byId.putIfAbsent(m.getString("id"), m);
          }
        }
      }
      if (byId.isEmpty() && firstFailure != null) {
        Failure f = Failure.from(firstFailure);
        message.fail(f.status(), f.encode());
        return;
      }
      JsonObject list = new JsonObject().put("object", "list").put("data", new JsonArray(new ArrayList<>(byId.values())));
      message.reply(new UpstreamReply(200, "application/json", list.toBuffer()));
    });
  }

  /** Named models come from the configuration; a pass-through provider ({@code *}) is asked. */
  private Future<JsonArray> modelsOf(Upstream u) {
    JsonArray named = new JsonArray();
    long created = System.currentTimeMillis() / 1000;
    for (String m : u.settings.models()) {
      if (!"*".equals(m)) {
        named.add(new JsonObject().put("id", m).put("object", "model").put("created", created).put("owned_by", u.name()));
      }
    }
    if (!u.settings.models().contains("*")) {
      return Future.succeededFuture(named);
    }
    return u.exchange(vertx, u.request(HttpMethod.GET, "/models"), null).compose(answer -> {
      if (answer.status() != 200) {
        return Future.failedFuture(u.fromStatus(answer.status(), answer.body()));
      }
      try {
        JsonArray data = answer.body().toJsonObject().getJsonArray("data", new JsonArray());
        named.addAll(data);
        return Future.succeededFuture(named);
      } catch (RuntimeException e) {
        return Future.failedFuture(Failure.badGateway("upstream_malformed", "upstream '" + u.name() + "' sent a malformed model list"));
      }
    });
  }

  private void health(Message<Void> message) {
    JsonObject entries = new JsonObject();
    for (ProviderSettings p : settings.providers()) {
      Upstream u = upstreams.get(p.name());
      entries.put("provider:" + p.name(), u != null ? u.health()
          : new JsonObject().put("status", "unconfigured").put("required", false));
    }
    message.reply(new Health(entries));
  }

  /** The provider for a model: the first enabled one that serves it. Routing proper comes with groups. */
  private Upstream route(String model) {
    if (upstreams.isEmpty()) {
      throw noProvider();
    }
    for (Upstream u : upstreams.values()) {
      if (u.settings.serves(model)) {
        return u;
      }
    }
    throw new Failure(404, "invalid_request_error", "model_not_found",
        "The model '" + model + "' does not exist or is not served by any configured provider");
  }

  private Failure noProvider() {
    return Failure.unavailable("no_provider", "no model provider is configured: " + settings.howToEnable());
  }

  private void account(Upstream upstream, String model, String outcome, long startedNanos, Throwable cause) {
    metrics.modelCall(upstream.name(), model, outcome, System.nanoTime() - startedNanos);
    boolean reachable = cause == null || Failure.from(cause).status() < 500;
    upstream.record(reachable, cause == null ? null : cause.getMessage());
  }

  private static String outcome(Throwable cause) {
    if (cause == null) {
      return "ok";
    }
    return Failure.from(cause).status() == 504 ? "timeout" : "error";
  }
}
