package dev.switchboard;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.LocalCodec;
import dev.switchboard.channel.ChannelPushVerticle;
import dev.switchboard.channel.InboundVerticle;
import dev.switchboard.cluster.ClusterVerticle;
import dev.switchboard.events.EventVerticle;
import dev.switchboard.ingress.HttpIngressVerticle;
import dev.switchboard.memory.MemoryVerticle;
import dev.switchboard.model.ModelDispatchVerticle;
import dev.switchboard.schedule.SchedulerVerticle;
import dev.switchboard.observe.Exposition;
import dev.switchboard.observe.Metrics;
import dev.switchboard.rules.RulesVerticle;
import dev.switchboard.security.JwtSecret;
import dev.switchboard.security.Tokens;
import dev.switchboard.store.DataDirLock;
import dev.switchboard.task.TaskVerticle;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;

/**
 * Assembles the gateway: one Vert.x instance, the bus codecs, and the verticles, deployed in the
 * order their dependencies need (the HTTP edge last, so it never accepts a request nobody serves).
 */
public final class Gateway {

  private Gateway() {
  }

  /**
   * What a started gateway tells its caller; {@code drainFirst}: the deployments to stop, in this
   * order, before the rest (see {@link #stop}).
   */
  public record Started(int port, String banner, List<String> drainFirst) {
  }

  /**
   * Stops the gateway in order: the HTTP edge first (no new work), then the scheduler and the rules, then the tasks (running ones get
   * queue.shutdown_grace while the model, channels and memory they use still serve), then the
   * rest, and the data-folder lock last. Vert.x alone would stop all components at once.
   */
  public static Future<Void> stop(Vertx vertx, Started started) {
    Future<Void> chain = Future.succeededFuture();
    for (String id : started == null ? List.<String>of() : started.drainFirst()) {
      chain = chain.compose(v -> vertx.undeploy(id).recover(e -> Future.succeededFuture()));
    }
    return chain.eventually(vertx::close);
  }

  /**
   * A Vert.x with Prometheus metrics, labelled by route so dashboards can split per endpoint;
   * what is exported (buckets, names, bounded labels) is decided in {@link Exposition}.
   */
  public static Vertx newVertx(boolean metrics) {
    return newVertx(metrics, 0);
  }

  public static Vertx newVertx(boolean metrics, int eventLoops) {
    VertxOptions options = new VertxOptions();
    if (eventLoops > 0) {
      options.setEventLoopPoolSize(eventLoops);
    }
    if (!metrics) {
      return Vertx.builder().with(options).build();
    }
    options.setMetricsOptions(Exposition.options());
    return Vertx.builder().with(options).withMetrics(Exposition.factory()).build();
  }

  public static Future<Started> deploy(Vertx vertx, Settings settings, JwtSecret secret) {
    return deploy(vertx, settings, secret, System::getenv);
  }

  /** {@code env}: what the configuration's variables are read from, again at a live reload. */
  public static Future<Started> deploy(Vertx vertx, Settings settings, JwtSecret secret,
                                       java.util.function.Function<String, String> env) {
    if ("distributed".equals(settings.storageProfile())) {
      try {
        // the Redis client reads its URL only at the first connection, and without naming the setting
        dev.switchboard.store.RedisUrl.check(settings.storage().redisUrl());
      } catch (IllegalArgumentException e) {
        return Future.failedFuture(e);
      }
    }
    Metrics.configure(settings);
    LocalCodec.registerAll(vertx.eventBus());
    // the request id rides along on every bus message (observe.RequestIds)
    dev.switchboard.observe.RequestIds.install(vertx.eventBus());
    settings.agent().install(vertx);
    settings.outbound().install(vertx);
    dev.switchboard.security.JwtVerifier auth = Tokens.auth(vertx, secret, settings.tokens());
    // retry.deadline bounds a whole chat (and a stream until its first token); a little more so the
    // dispatcher's own deadline error, which says what happened, arrives before the ingress gives up
    Duration chatTimeout = settings.models().retry().deadline().plusSeconds(5);
    HttpIngressVerticle ingress = new HttpIngressVerticle(settings.server(), auth, chatTimeout, settings.access(),
        settings.bridge(), settings.rateLimits());
    ClusterVerticle cluster = new ClusterVerticle(settings.storageProfile(), settings.storage().redisUrl());
    Promise<Started> started = Promise.promise();
    // the lock is the root: every component is its child, so all of them stop before it lets go of the folder
    // revocations are known before the HTTP edge accepts a token
    dev.switchboard.security.RevocationVerticle revocations = new dev.switchboard.security.RevocationVerticle(auth,
        new dev.switchboard.security.RevocationVerticle.Options(settings.storageProfile(), settings.dataDir(),
            settings.storage().redisUrl(), settings.channels().store().keyPrefix() + "tokens:"));
    // warned once the folder is ours: a second gateway refused on the same folder prints only why
    return vertx.deployVerticle(new DataDirLock(settings.dataDir(), () -> vertx.deployVerticle(revocations)
            .onSuccess(id -> settings.access().warnAtStart())
            .compose(id -> components(vertx, settings, ingress, cluster, auth, chatTimeout, env)).onComplete(started)))
        .compose(id -> started.future());
  }

  private static Future<Started> components(Vertx vertx, Settings settings, HttpIngressVerticle ingress,
                                            ClusterVerticle cluster, io.vertx.ext.auth.jwt.JWTAuth auth, Duration chatTimeout,
                                            java.util.function.Function<String, String> env) {
    return vertx.deployVerticle(cluster)
        // first of the components: the records of all the others have somewhere to go
        .compose(id -> vertx.deployVerticle(new dev.switchboard.audit.AuditVerticle(settings.audit(), settings.storageProfile(),
            settings.dataDir(), settings.storage().postgresUrl())))
        // instances of one deployment (one queue prefix) share their rate limits
        .compose(id -> vertx.deployVerticle(new dev.switchboard.security.RateLimitVerticle(settings.rateLimits(),
            settings.storageProfile(), settings.storage().redisUrl(), settings.queue().keyPrefix() + "ratelimit:")))
        .compose(id -> vertx.deployVerticle(new ModelDispatchVerticle(settings.models(), cluster.cluster())))
        .compose(id -> vertx.deployVerticle(new ChannelPushVerticle(settings.channels(), settings.storage())))
        .compose(id -> vertx.deployVerticle(new EventVerticle(new EventVerticle.Options(settings.events(), settings.storageProfile(),
            settings.dataDir(), settings.storage().redisUrl(), settings.queue().keyPrefix() + "events:"))))
        .compose(id -> vertx.deployVerticle(new InboundVerticle(settings.channels(), settings.storage())))
        // live reload owns the Stream-mode and long-connection bots, so it can redeploy the ones a reload changes
        .compose(id -> vertx.deployVerticle(new dev.switchboard.config.ReloadVerticle(settings, env)))
        .compose(id -> vertx.deployVerticle(new MemoryVerticle(settings.storage(), settings.memory(),
            settings.models().embeddings(), settings.models().defaultModel())))
        // plug-in skills are in the registry before the first task runs
        .compose(id -> vertx.deployVerticle(new dev.switchboard.plugin.PluginsVerticle(settings.plugins(), settings.dataDir())))
        .compose(id -> vertx.deployVerticle(new TaskVerticle(new TaskVerticle.Options(settings.queue(),
            settings.storageProfile(), settings.dataDir(), settings.storage().redisUrl(), cluster.cluster().instance().id(),
            settings.memory().skills(), settings.models().anyEnabled() ? null : settings.models().howToEnable(), settings.agent()))))
        // the scheduler before the rules: the rules' first SCHEDULES_SYNC finds it listening
        .compose(tasks -> vertx.deployVerticle(new SchedulerVerticle(new SchedulerVerticle.Options(settings.storageProfile(),
                settings.dataDir(), settings.storage().redisUrl(), settings.channels().store().keyPrefix() + "schedules:"),
                cluster.cluster()))
            .compose(scheduler -> vertx.deployVerticle(new RulesVerticle(settings.rules()))
                // MCP servers register their tools as they connect; start-up does not wait for them
                .compose(rules -> vertx.deployVerticle(new dev.switchboard.mcp.McpClientVerticle(settings.mcp()))
                    .compose(mcp -> vertx.deployVerticle(new dev.switchboard.agent.SkillsVerticle()))
                    // the bridges, like the HTTP edge, are stopped first: no new work from their clients
                    .compose(skills -> dev.switchboard.bridge.Bridges.deploy(vertx, settings.bridge(),
                        new dev.switchboard.bridge.BridgeAccess(auth, settings.bridge(), settings.access().legacyTokens()), chatTimeout,
                        settings.server().maxBodySize(), settings.rateLimits()))
                    .compose(bridges -> vertx.deployVerticle(ingress).map(edge -> java.util.stream.Stream.concat(
                        bridges.stream(), java.util.stream.Stream.of(edge, scheduler, rules, tasks)).toList())))))
        // once the skills are known: bots in channels.yaml that name a skill no one has are warned about
        .compose(drain -> dev.switchboard.agent.BotSkills.warnUnknown(vertx, settings.channels().botSkills()).map(drain))
        .compose(drain -> defaultModel(vertx)
            .map(model -> new Started(ingress.actualPort(), banner(settings, ingress.actualPort(), model), drain)));
  }

  /** The default model for the banner: a pass-through provider's list is asked at start-up; a slow one is not waited for long. */
  private static Future<JsonObject> defaultModel(Vertx vertx) {
    return vertx.eventBus().<JsonObject>request(Addresses.MODEL_DEFAULT, new JsonObject().put("wait_ms", 1_000))
        .map(m -> m.body());
  }

  private static String storage(Settings s) {
    if (!"distributed".equals(s.storageProfile())) {
      return "embedded at " + s.dataDir();
    }
    return "distributed (tasks, deliveries, claims and short-term memory: " + redacted(s.storage().redisUrl())
        + "; long-term memory: " + redacted(s.storage().postgresUrl()) + ")";
  }

  /** Connection URLs may carry a password (one with '/', '?' or '@' in it too). */
  private static String redacted(String url) {
    return dev.switchboard.store.PostgresUrl.redacted(url);
  }

  /** model.default's answer, as the banner says it. */
  private static String describe(JsonObject d) {
    String model = d.getString("model");
    if (model == null) {
      return Boolean.TRUE.equals(d.getBoolean("pending"))
          ? "none yet (the providers' model lists have not answered within 1s; set MODEL_NAME to choose one)"
          : "none (tasks must name one; set MODEL_NAME)";
    }
    return switch (String.valueOf(d.getString("source"))) {
      case "discovered" -> model + " (the first in provider '" + d.getString("provider") + "''s model list; set MODEL_NAME to choose)";
      case "listed" -> model + " (the first model of provider '" + d.getString("provider") + "'; set MODEL_NAME to choose)";
      default -> model;
    };
  }

  private static String banner(Settings s, int port, JsonObject model) {
    String scheme = s.server().tls().enabled() ? "https" : "http";
    return "switchboard listening on " + scheme + "://" + s.server().host() + ":" + port
        + " | storage " + storage(s)
        + " | providers: " + s.models().summary()
        + " | default model: " + describe(model)
        + " | bots: " + s.channels().summary();
  }
}
