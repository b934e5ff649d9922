package dev.switchboard.model;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.ChatCall;
import dev.switchboard.bus.Failure;
import dev.switchboard.bus.Health;
import dev.switchboard.bus.UpstreamReply;
import dev.switchboard.model.spi.ModelProvider;
import dev.switchboard.observe.Metrics;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Owns the upstream model providers: routing, the retry loop, circuit breakers, key pools, health
 * probes and usage. Its public face is the {@code model.*} addresses.
 */
public final class ModelDispatchVerticle extends VerticleBase {

  private final ModelSettings settings;
  private final Map<String, Provider> providers = new LinkedHashMap<>();
  private Router router;
  private Dispatcher dispatcher;
  private UsageLedger usage;
  private Metrics metrics;
  private long probeTimer = -1;
  private EmbeddingCalls embeddings;

  public ModelDispatchVerticle(ModelSettings settings) {
    this.settings = settings;
  }

  @Override
  public Future<?> start() {
    metrics = Metrics.current();
    for (ProviderSettings p : settings.providers()) {
      if (p.enabled()) {
        Provider provider = new Provider(vertx, p, settings.keyCooldown(), settings.health().downAfter());
        providers.put(p.name(), provider);
        metrics.gauge("switchboard.provider.up",
            "1 while the provider is up (its last probe or its live calls say so, or nothing has said otherwise yet), 0 while down",
            provider, x -> x.up() ? 1 : 0, "provider", p.name());
      }
    }
    router = new Router(providers, settings.groups(), settings.breaker());
    for (Deployment d : router.configured()) {
      metrics.gauge("switchboard.deployment.state",
          "0 up, 1 half_open, 2 open (circuit), 3 down (provider), 4 keys_resting (rate limited), 5 keys_disabled (refused)",
          d, x -> x.stateCode(System.currentTimeMillis()), "provider", d.provider.name(), "model", d.model);
    }
    usage = new UsageLedger(metrics.registry());
    dispatcher = new Dispatcher(vertx, settings, router, providers, metrics, usage, p -> probe(p, true));
    Provider embedder = providers.get(settings.embeddings().provider());
    embeddings = embedder == null ? null
        : new EmbeddingCalls(vertx, embedder, settings.embeddings(), settings.retry(), p -> probe(p, true));
    var bus = vertx.eventBus();
    probeAll();
    probeTimer = vertx.setPeriodic(settings.health().interval().toMillis(), id -> probeAll());
    return Future.all(List.of(
        bus.<ChatCall>localConsumer(Addresses.MODEL_CHAT, this::chat).completion(),
        bus.<ChatCall>localConsumer(Addresses.MODEL_CHAT_STREAM, this::chatStream).completion(),
        bus.<String>localConsumer(Addresses.MODEL_CANCEL, m -> {
          dispatcher.cancel(m.body());
          // the ingress keeps the stream's address registered until this answer: nothing is in flight to it after
          m.reply(null);
        }).completion(),
        bus.<String>localConsumer(Addresses.MODEL_PAUSE, m -> dispatcher.pause(m.body())).completion(),
        bus.<String>localConsumer(Addresses.MODEL_RESUME, m -> dispatcher.resume(m.body())).completion(),
        bus.<Void>localConsumer(Addresses.MODEL_LIST, this::listModels).completion(),
        bus.<JsonArray>localConsumer(Addresses.MODEL_EMBED, this::embed).completion(),
        bus.<Void>localConsumer(Addresses.MODEL_HEALTH, this::health).completion(),
        bus.<Void>localConsumer(Addresses.MODEL_PROVIDERS, this::providers).completion(),
        bus.<String>localConsumer(Addresses.MODEL_USAGE, m -> m.reply(usage.view(m.body()))).completion()));
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(probeTimer);
    List<Future<?>> closing = new ArrayList<>();
    providers.values().forEach(p -> closing.add(p.client.close()));
    return Future.join(closing);
  }

  private void chat(Message<ChatCall> message) {
    dispatcher.chat(message.body()).onComplete(ar -> {
      if (ar.succeeded()) {
        message.reply(ar.result());
      } else {
        Failure.reply(message, ar.cause());
      }
    });
  }

  /** Accepts at once; everything else, failures included, travels on the stream address. */
  private void chatStream(Message<ChatCall> message) {
    message.reply(null);
    dispatcher.stream(message.body());
  }

  private void embed(Message<JsonArray> message) {
    if (embeddings == null) {
      String name = settings.embeddings().provider();
      String off = settings.providers().stream().filter(p -> p.name().equals(name)).findFirst()
          .map(ProviderSettings::offReason).orElse("unknown");
      Failure.reply(message, Failure.unavailable("embeddings_unavailable", settings.embeddings().local()
          ? "embeddings are made in-process (embeddings.provider: local), not by a provider"
          : "embedding provider '" + name + "' is off: " + off));
      return;
    }
    embeddings.embed(message.body()).onComplete(ar -> {
      if (ar.succeeded()) {
        message.reply(ar.result());
      } else {
        Failure.reply(message, ar.cause());
      }
    });
  }

  /** Probes every provider; a provider that answers again is re-enabled and its circuits closed. */
  private void probeAll() {
    providers.values().forEach(p -> probe(p, false));
  }

  /**
   * One probe, bounded like any other upstream call. {@code confirming}: sent because live calls
   * have just marked the provider down; then an answer only records itself (see {@link Provider#probed}).
   */
  private void probe(Provider p, boolean confirming) {
    if ("none".equals(p.settings.probe()) || p.probing) {
      return;
    }
    p.probing = true;
    long timeout = settings.health().timeout().toMillis();
    KeyPool.Key key = p.keys.probeKey(System.currentTimeMillis());
    ModelProvider.Request request = p.protocol.probe(p.settings.probe(), p.settings.probeModel());
    long started = System.nanoTime();
    Bodies.call(vertx, p, p.options(request, key), request.body(), timeout)
        .onComplete(ar -> {
          p.probing = false;
          long ms = (System.nanoTime() - started) / 1_000_000;
          boolean ok = ar.succeeded() && ar.result().success();
          String error = ar.failed() ? String.valueOf(ar.cause().getMessage()) : ok ? null : "status " + ar.result().status();
          p.probed(ok, ms, error, confirming);
          metrics.probe(p.name(), ok);
          if (ok) {
            p.keys.enable(key);
            if (!confirming) {
              for (Deployment d : router.known()) {
                if (d.provider == p) {
                  d.breaker.reset();
                }
              }
            }
          }
        });
  }

  private void listModels(Message<Void> message) {
    if (providers.isEmpty()) {
      Failure.reply(message, dispatcher.noProvider());
      return;
    }
    List<Future<JsonArray>> lists = new ArrayList<>();
    providers.values().forEach(p -> lists.add(modelsOf(p)));
    Future.join(lists).onComplete(ignored -> {
      Map<String, JsonObject> byId = new LinkedHashMap<>();
      long created = System.currentTimeMillis() / 1000;
      for (GroupSettings g : settings.groups()) {
        byId.put(g.name(), new JsonObject().put("id", g.name()).put("object", "model").put("created", created)
            .put("owned_by", "switchboard"));
      }
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
        Failure.reply(message, firstFailure);
        return;
      }
      JsonObject list = new JsonObject().put("object", "list").put("data", new JsonArray(new ArrayList<>(byId.values())));
      message.reply(new UpstreamReply(200, "application/json", list.toBuffer()));
    });
  }

  /** Named models come from the configuration; a pass-through provider ({@code *}) is asked. */
  private Future<JsonArray> modelsOf(Provider p) {
    JsonArray named = new JsonArray();
    long created = System.currentTimeMillis() / 1000;
    for (String m : p.settings.models()) {
      if (!"*".equals(m)) {
        named.add(new JsonObject().put("id", m).put("object", "model").put("created", created).put("owned_by", p.name()));
      }
    }
    if (!p.settings.models().contains("*")) {
      return Future.succeededFuture(named);
    }
    ModelProvider.Request request = p.protocol.listModels();
    long timeout = p.settings.totalTimeout().toMillis();
    KeyPool.Key key = p.keys.probeKey(System.currentTimeMillis());
    return Bodies.call(vertx, p, p.options(request, key), request.body(), timeout)
        .recover(e -> Future.failedFuture(Outcome.thrown(p, e).failure()))
        .compose(a -> {
          if (!a.success()) {
            return Future.failedFuture(Outcome.status(p, a.status(), a.body(), a.headers()).failure());
          }
          try {
            return Future.succeededFuture(named.addAll(p.protocol.models(a.body())));
          } catch (RuntimeException e) {
            return Future.failedFuture(Outcome.malformed(p, "not a model list").failure());
          }
        });
  }

  private void health(Message<Void> message) {
    JsonObject entries = new JsonObject();
    for (ProviderSettings s : settings.providers()) {
      Provider p = providers.get(s.name());
      entries.put("provider:" + s.name(), p != null ? p.health()
          : new JsonObject().put("status", "unconfigured").put("required", s.required()).put("reason", s.offReason()));
    }
    message.reply(new Health(entries));
  }

  private void providers(Message<Void> message) {
    long now = System.currentTimeMillis();
    JsonArray data = new JsonArray();
    for (Deployment d : router.known()) {
      data.add(d.view(now));
    }
    message.reply(new JsonObject().put("data", data));
  }
}
