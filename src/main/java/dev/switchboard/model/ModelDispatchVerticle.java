package dev.switchboard.model;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.ChatCall;
import dev.switchboard.bus.Failure;
import dev.switchboard.bus.Health;
import dev.switchboard.bus.UpstreamReply;
import dev.switchboard.cluster.Cluster;
import dev.switchboard.cluster.Lease;
import dev.switchboard.model.spi.ModelProvider;
import dev.switchboard.observe.Metrics;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Owns the upstream model providers: routing, the retry loop, circuit breakers, key pools, health
 * probes, usage and the default model. Its public face is the {@code model.*} addresses.
 *
 * <p>Probes run on the leader only (one instance of those sharing Redis; the embedded profile's
 * only instance always leads): it posts each provider's verdict on the cluster bulletin, and the
 * other instances read the bulletin every {@link #VERDICT_SYNC_MS} ms and apply each new verdict
 * as if they had probed themselves. What live calls say ({@code health_check.down_after}, a call
 * that answers) stays with each instance: its own calls are its own evidence.
 */
public final class ModelDispatchVerticle extends VerticleBase {

  private static final Logger LOG = Logger.getLogger(ModelDispatchVerticle.class.getName());

  /** The bulletin topic of the probe verdicts: one entry per provider. */
  static final String PROBES = "probes";
  /** How often an instance that does not lead reads the leader's verdicts. */
  static final long VERDICT_SYNC_MS = 2_000;

  private ModelSettings settings;
  /**
   * Memory's embedder, as start-up read it: memory labels its vectors with this model and learnt
   * their dimensions from it, so a reload does not change it (restart_required says so).
   */
  private final ModelSettings.Embeddings embedding;
  private final Cluster cluster;
  /** Replaced whole by a reload: a call under way keeps the map (and dispatcher) it started with. */
  private Map<String, Provider> providers = new LinkedHashMap<>();
  /** Dispatchers of earlier settings whose streams still run: a cancel, pause or resume may be for one of them. */
  private final List<Dispatcher> retired = new ArrayList<>();
  /** Providers a reload removed or changed, closed once the calls still on them are past their timeouts. */
  private final Set<Provider> closing = new HashSet<>();
  /** The longest retry deadline of any settings served so far: a call under way is bounded by the one it started under. */
  private long longestDeadlineMs;
  private Router router;
  private Dispatcher dispatcher;
  private UsageLedger usage;
  private Metrics metrics;
  private long probeTimer = -1;
  private long verdictTimer = -1;
  private EmbeddingCalls embeddings;
  private DefaultModel defaults;
  /** Providers whose model list is being asked for now. */
  private final Set<String> listing = new HashSet<>();
  /** Per provider, the token and time of the last verdict taken from the leader. */
  private final Map<String, String> applied = new HashMap<>();
  /** Whether posting verdicts fails: logged when it starts and ends, not at every probe. */
  private boolean postFailing;
  /** Whether this instance led when last looked at. */
  private boolean led;

  /** A lone instance: it always leads, so it probes. */
  public ModelDispatchVerticle(ModelSettings settings) {
    this(settings, Cluster.single());
  }

  public ModelDispatchVerticle(ModelSettings settings, Cluster cluster) {
    this.settings = settings;
    this.embedding = settings.embeddings();
    this.cluster = cluster;
  }

  @Override
  public Future<?> start() {
    metrics = Metrics.current();
    usage = new UsageLedger(metrics.registry());
    install(settings, Map.of());
    var bus = vertx.eventBus();
    led = leads();
    if (led) {
      probeAll();
    } else {
      // the leader's verdicts will say whether providers are up; the default model is needed at once
      defaults.toAsk().forEach(this::listModelsOf);
    }
    startProbeTimer();
    verdictTimer = vertx.setPeriodic(VERDICT_SYNC_MS, id -> {
      leadChecked();
      takeVerdicts();
    });
    return Future.all(List.of(
        bus.<JsonObject>localConsumer(Addresses.CLUSTER_LEADER, m -> leadChecked()).completion(),
        bus.<Object>localConsumer(Addresses.MODEL_DEFAULT, this::defaultModel).completion(),
        bus.<ChatCall>localConsumer(Addresses.MODEL_CHAT, this::chat).completion(),
        bus.<ChatCall>localConsumer(Addresses.MODEL_CALL, this::call).completion(),
        bus.<ModelSettings>localConsumer(Addresses.MODEL_RELOAD, this::reload).completion(),
        bus.<String>localConsumer(Addresses.MODEL_CANCEL, m -> {
          dispatcher.cancel(m.body());
          retired.forEach(d -> d.cancel(m.body()));
          retired.removeIf(d -> !d.busy());
          // the ingress keeps the call's id registered until this answer: nothing is in flight to it after
          m.reply(null);
        }).completion(),
        bus.<String>localConsumer(Addresses.MODEL_PAUSE, m -> {
          dispatcher.pause(m.body());
          retired.forEach(d -> d.pause(m.body()));
        }).completion(),
        bus.<String>localConsumer(Addresses.MODEL_RESUME, m -> {
          dispatcher.resume(m.body());
          retired.forEach(d -> d.resume(m.body()));
        }).completion(),
        bus.<Void>localConsumer(Addresses.MODEL_LIST, this::listModels).completion(),
        bus.<JsonArray>localConsumer(Addresses.MODEL_EMBED, this::embed).completion(),
        bus.<Void>localConsumer(Addresses.MODEL_HEALTH, this::health).completion(),
        bus.<Void>localConsumer(Addresses.MODEL_PROVIDERS, this::providers).completion(),
        bus.<String>localConsumer(Addresses.MODEL_USAGE, m -> m.reply(usage.view(m.body()))).completion()));
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(probeTimer);
    vertx.cancelTimer(verdictTimer);
    List<Future<?>> closed = new ArrayList<>();
    providers.values().forEach(p -> closed.add(p.client.close()));
    closing.forEach(p -> closed.add(p.client.close()));
    return Future.join(closed);
  }

  /**
   * Builds what serves calls from {@code s}: a provider whose settings did not change is kept from
   * {@code previous} (its health, keys and connections go on); every other one is new. Routing,
   * circuits and the default model start afresh.
   */
  private void install(ModelSettings s, Map<String, Provider> previous) {
    boolean sameUpkeep = s.keyCooldown().equals(settings.keyCooldown()) && s.health().downAfter() == settings.health().downAfter();
    settings = s;
    longestDeadlineMs = Math.max(longestDeadlineMs, s.retry().deadline().toMillis());
    Map<String, Provider> next = new LinkedHashMap<>();
    for (ProviderSettings p : s.providers()) {
      if (!p.enabled()) {
        continue;
      }
      Provider kept = previous.get(p.name());
      if (kept != null && sameUpkeep && kept.settings.equals(p)) {
        next.put(p.name(), kept);
        continue;
      }
      Provider provider = new Provider(vertx, p, s.keyCooldown(), s.health().downAfter());
      provider.onChange = (up, why) -> raise(provider, up, why);
      next.put(p.name(), provider);
      metrics.gauge("switchboard.provider.up",
          "1 while the provider is up (its last probe or its live calls say so, or nothing has said otherwise yet), 0 while down",
          provider, x -> x.up() ? 1 : 0, "provider", p.name());
    }
    providers = next;
    router = new Router(providers, s.groups(), s.breaker());
    for (Deployment d : router.configured()) {
      metrics.gauge("switchboard.deployment.state",
          "0 up, 1 half_open, 2 open (circuit), 3 down (provider), 4 keys_resting (rate limited), 5 keys_disabled (refused)",
          d, x -> x.stateCode(System.currentTimeMillis()), "provider", d.provider.name(), "model", d.model);
    }
    dispatcher = new Dispatcher(vertx, s, router, providers, metrics, usage, p -> probe(p, true));
    Provider embedder = providers.get(embedding.provider());
    embeddings = embedder == null ? null : new EmbeddingCalls(vertx, embedder, embedding, s.retry(), p -> probe(p, true));
    defaults = new DefaultModel(s.defaultModel(), providers.values());
  }

  private void startProbeTimer() {
    probeTimer = vertx.setPeriodic(settings.health().interval().toMillis(), id -> {
      if (leads()) {
        probeAll();
      }
    });
  }

  /**
   * Swaps in new settings between two calls: calls and streams under way finish on what they
   * started with (their dispatcher, providers and connections); the next call uses the new ones.
   * Replies with the names of the providers that were kept as they were.
   */
  private void reload(Message<ModelSettings> message) {
    Map<String, Provider> before = providers;
    Dispatcher old = dispatcher;
    // the gauges are bound to the objects being replaced: unregistered first, so the new ones can take the names
    for (Deployment d : router.configured()) {
      metrics.unregister("switchboard.deployment.state", "provider", d.provider.name(), "model", d.model);
    }
    ModelSettings next = message.body();
    boolean sameUpkeep = next.keyCooldown().equals(settings.keyCooldown()) && next.health().downAfter() == settings.health().downAfter();
    for (Provider p : before.values()) {
      boolean kept = sameUpkeep && next.providers().stream().anyMatch(n -> n.enabled() && n.equals(p.settings));
      if (!kept) {
        metrics.unregister("switchboard.provider.up", "provider", p.name());
      }
    }
    install(next, before);
    retired.removeIf(d -> !d.busy());
    if (old.busy()) {
      retired.add(old);
    }
    long grace = before.values().stream().mapToLong(p -> p.settings.totalTimeout().toMillis()).max().orElse(0)
        + longestDeadlineMs + 5_000;
    for (Provider p : before.values()) {
      if (providers.get(p.name()) != p) {
        closing.add(p);
        vertx.setTimer(grace, id -> {
          closing.remove(p);
          p.client.close();
        });
      }
    }
    vertx.cancelTimer(probeTimer);
    startProbeTimer();
    if (leads()) {
      providers.values().stream().filter(p -> before.get(p.name()) != p).forEach(p -> probe(p, false));
      defaults.toAsk().stream().filter(p -> !probeLists(p) || before.get(p.name()) == p).forEach(this::listModelsOf);
    } else {
      defaults.toAsk().forEach(this::listModelsOf);
    }
    LOG.info("model settings reloaded: " + settings.summary());
    message.reply(new JsonArray(providers.values().stream().filter(p -> before.get(p.name()) == p).map(Provider::name).toList()));
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

  /** Sent, not requested: everything, failures included, travels to the call's id. */
  private void call(Message<ChatCall> message) {
    if (message.body().id() == null) {
      LOG.warning("a model call without an id was dropped: nothing could be told its answer");
      return;
    }
    dispatcher.call(message.body());
  }

  private void embed(Message<JsonArray> message) {
    if (embeddings == null) {
      String name = embedding.provider();
      String off = settings.providers().stream().filter(p -> p.name().equals(name)).findFirst()
          .map(ProviderSettings::offReason).orElse("a reload removed it (memory's embedder changes at a restart)");
      Failure.reply(message, Failure.unavailable("embeddings_unavailable", embedding.local()
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

  private boolean leads() {
    return cluster.leadership().lease().leader();
  }

  /**
   * A new leader probes at once: the verdicts on the bulletin are its predecessor's. Called on each
   * change published by the cluster verticle, and on the verdict timer in case one came before this
   * verticle listened.
   */
  private void leadChecked() {
    boolean now = leads();
    if (now && !led) {
      probeAll();
    }
    led = now;
  }

  /** A models probe asks {@code /models}: its answer also tells the default model. */
  private static boolean probeLists(Provider p) {
    return "models".equals(p.settings.probe());
  }

  /**
   * Probes every provider; a provider that answers again is re-enabled and its circuits closed. The
   * model lists that decide the default model are asked with them (the probe's own answer, when
   * it is a models probe).
   */
  private void probeAll() {
    providers.values().forEach(p -> probe(p, false));
    defaults.toAsk().stream().filter(p -> !probeLists(p)).forEach(this::listModelsOf);
  }

  /**
   * One probe, bounded like any other upstream call. {@code confirming}: sent because live calls
   * have just marked the provider down; then an answer only records itself (see {@link Provider#probed}).
   */
  private void probe(Provider p, boolean confirming) {
    if ("none".equals(p.settings.probe()) || p.probing || !leads()) {
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
              resetBreakers(p);
            }
          }
          if (!confirming) {
            // a confirming probe answers this instance's own live calls: not a verdict for the others
            Future<String> first = !defaults.asks(p) || !probeLists(p) ? Future.succeededFuture(null)
                : ok ? firstModel(p, ar.result().body()) : Future.failedFuture(error);
            first.onComplete(f -> {
              if (defaults.asks(p) && probeLists(p)) {
                if (f.succeeded()) {
                  defaults.listed(p, f.result());
                } else {
                  defaults.failed(p, String.valueOf(f.cause().getMessage()));
                }
              }
              postVerdict(p);
            });
          }
        });
  }

  private void resetBreakers(Provider p) {
    for (Deployment d : router.known()) {
      if (d.provider == p) {
        d.breaker.reset();
      }
    }
  }

  /** The leader's verdict on {@code p}, for the other instances; fenced by the lease it was made under. */
  private void postVerdict(Provider p) {
    Lease lease = cluster.leadership().lease();
    if (!lease.leader() || p.lastProbe == null) {
      return;
    }
    JsonObject verdict = p.lastProbe.copy().put("first_model", defaults.discoveredOf(p));
    cluster.bulletin().post(PROBES, p.name(), verdict, lease).onComplete(ar -> {
      if (ar.failed() && !postFailing) {
        LOG.warning("probe verdicts cannot be shared with the other instances: " + ar.cause().getMessage());
      } else if (ar.succeeded() && postFailing) {
        LOG.info("probe verdicts are shared with the other instances again");
      }
      postFailing = ar.failed();
    });
  }

  /**
   * An instance that does not lead takes the leader's verdicts: each new one is applied as a probe
   * of its own would be (up or down, last_probe, circuits closed when up). Verdicts of a former
   * leader (another token) are left alone: the new leader's own arrive after its first probe.
   */
  private void takeVerdicts() {
    Lease lease = cluster.leadership().lease();
    if (lease.leader() || lease.token() == 0) {
      return;
    }
    cluster.bulletin().read(PROBES).onComplete(ar -> {
      if (ar.failed()) {
        LOG.log(Level.FINE, "cannot read the leader's probe verdicts", ar.cause());
        return;
      }
      ar.result().forEach((name, verdict) -> {
        Provider p = providers.get(name);
        if (p == null || verdict.getLong("token", 0L) != lease.token() || leads()) {
          return;
        }
        String stamp = verdict.getLong("token") + "/" + verdict.getString("at");
        if (stamp.equals(applied.put(name, stamp))) {
          return;
        }
        boolean ok = Boolean.TRUE.equals(verdict.getBoolean("ok"));
        long latency = verdict.getLong("latency_ms", 0L);
        String error = verdict.getString("error");
        p.probed(ok, latency, error, false);
        p.lastProbe = new JsonObject().put("at", verdict.getString("at")).put("ok", ok).put("latency_ms", latency)
            .put("error", error);
        if (ok) {
          resetBreakers(p);
        }
        if (verdict.getString("first_model") != null) {
          defaults.listed(p, verdict.getString("first_model"));
        }
      });
    });
  }

  /** Asks {@code p}'s model list for the default model, bounded like a probe. */
  private void listModelsOf(Provider p) {
    if (!listing.add(p.name())) {
      return;
    }
    ModelProvider.Request request = p.protocol.listModels();
    KeyPool.Key key = p.keys.probeKey(System.currentTimeMillis());
    Bodies.call(vertx, p, p.options(request, key), request.body(), settings.health().timeout().toMillis())
        .compose(a -> a.success() ? firstModel(p, a.body()) : Future.failedFuture("status " + a.status()))
        .onComplete(ar -> {
          listing.remove(p.name());
          if (ar.succeeded()) {
            defaults.listed(p, ar.result());
          } else {
            defaults.failed(p, String.valueOf(ar.cause().getMessage()));
          }
        });
  }

  /** The first model id of a model list; parsed on a worker, as a list may be megabytes. */
  private Future<String> firstModel(Provider p, io.vertx.core.buffer.Buffer body) {
    return vertx.executeBlocking(() -> {
      for (Object o : p.protocol.models(body)) {
        if (o instanceof JsonObject m && m.getValue("id") instanceof String id && !id.isEmpty()) {
          return id;
        }
      }
      return null;
    }).recover(e -> Future.failedFuture("not a model list"));
  }

  /**
   * The default model now; with {@code {wait_ms}}, once the start-up model lists have answered or
   * that time is up ({@code pending} then says the lists are still being asked for).
   */
  private void defaultModel(Message<Object> message) {
    Future<Void> ready = message.body() instanceof JsonObject o && o.getValue("wait_ms") instanceof Number n
        ? defaults.settled().timeout(n.longValue(), TimeUnit.MILLISECONDS).recover(e -> Future.succeededFuture())
        : Future.succeededFuture();
    ready.onComplete(ignored -> message.reply(defaults.current().toJson()
        .put("pending", !defaults.settled().isComplete())));
  }

  /**
   * A provider going down or coming back is an event for the rules ({@code on: {provider: down|up}}).
   * Every instance sees the state; only the leader raises it, so a rule fires once per change.
   */
  private void raise(Provider p, boolean up, String why) {
    // an entry a reload replaced only finishes the calls it had: the provider of that name is the new entry
    if (!cluster.leadership().lease().leader() || providers.get(p.name()) != p) {
      return;
    }
    String state = up ? "up" : "down";
    vertx.eventBus().publish(Addresses.EVENTS_RAISE, new JsonObject()
        .put("id", "provider:" + p.name() + ":" + state + ":" + System.currentTimeMillis())
        .put("type", "provider").put("time", java.time.Instant.now().toString())
        .put("provider", p.name()).put("state", state).put("reason", why));
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
