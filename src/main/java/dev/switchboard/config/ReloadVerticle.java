package dev.switchboard.config;

import dev.switchboard.Settings;
import dev.switchboard.audit.Audit;
import dev.switchboard.audit.AuditEvent;
import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.Failure;
import dev.switchboard.channel.ChannelSettings;
import dev.switchboard.channel.DingTalkApp;
import dev.switchboard.channel.DingTalkStreamVerticle;
import dev.switchboard.channel.FeishuApp;
import dev.switchboard.channel.FeishuLongConnectionVerticle;
import dev.switchboard.ingress.ServerSettings;
import dev.switchboard.model.ModelSettings;
import dev.switchboard.observe.Metrics;
import dev.switchboard.rules.RulesSettings;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import java.util.logging.Logger;

/**
 * Live reload ({@code POST /api/v1/admin/reload}, SIGHUP): re-reads {@code model_provider.yaml},
 * {@code channels.yaml}, {@code rules.yaml} and the TLS files, and applies them all or none.
 *
 * <p>Everything is read and checked first, on a worker, by the parsers start-up uses (with the
 * plug-ins start-up loaded), so a bad file answers 400 naming the file and key and nothing changes.
 * Then the TLS files are swapped (the ingress checks them as it does), and only once they are good
 * does each component get its new settings on its own address, swapping one field on its own event
 * loop: work under way keeps what it started with. Stream-mode and long-connection bots whose
 * entries changed are redeployed here (this verticle owns them).
 *
 * <p>What cannot change while running ({@code switchboard.yaml}, the channel store, the ingress's
 * chat deadline, memory's embeddings and summary model) is compared with what start-up read and answered as
 * {@code restart_required}, not applied. A reload is for this instance only.
 */
public final class ReloadVerticle extends VerticleBase {

  private static final Logger LOG = Logger.getLogger(ReloadVerticle.class.getName());

  private final Settings startup;
  private final Function<String, String> env;
  /** The files as written that the last reload (or start-up) applied, and those start-up read. */
  private Raw raw;
  private Raw startupRaw;
  /** Stream-mode and long-connection bots: "dingtalk/name" or "feishu/name" → deployment id. */
  private final Map<String, String> streams = new LinkedHashMap<>();
  private final Map<String, Object> streamApps = new LinkedHashMap<>();
  private boolean reloading;

  /** The files as written (variables not substituted): what a reload compares. */
  record Raw(Map<String, Object> switchboard, Map<String, Object> models, Map<String, Object> channels,
             Map<String, Object> rules) {

    static Raw read(ConfigFiles files) {
      return new Raw(map(files.loadRaw(Settings.FILE)), map(files.loadRaw(ModelSettings.FILE)),
          map(files.loadRaw(ChannelSettings.FILE)), map(files.loadRaw("rules.yaml")));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(ConfigNode node) {
      return node.raw() instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
    }
  }

  /** What a reload read and checked, before anything is applied. */
  private record Checked(ModelSettings models, ChannelSettings channels, RulesSettings rules, Raw raw) {
  }

  public ReloadVerticle(Settings startup, Function<String, String> env) {
    this.startup = startup;
    this.env = env;
  }

  @Override
  public Future<?> start() {
    // the files as start-up read them (a moment ago): what restart_required is measured against
    return vertx.executeBlocking(() -> Raw.read(new ConfigFiles(startup.confDir(), env)), false)
        .onSuccess(r -> {
          startupRaw = r;
          raw = r;
        })
        .compose(r -> vertx.eventBus().<JsonObject>localConsumer(Addresses.CONFIG_RELOAD, this::reload).completion())
        .compose(v -> Future.all(wanted(startup.channels()).entrySet().stream().map(e -> deploy(e.getKey(), e.getValue())).toList()));
  }

  private void reload(Message<JsonObject> message) {
    JsonObject asked = message.body() == null ? new JsonObject() : message.body();
    String subject = asked.getString("subject", "");
    String trigger = asked.getString("trigger", "api");
    if (reloading) {
      Failure busy = Failure.conflict("reload_busy", "a reload is being applied; try again");
      // refused too: every reload asked for leaves its record
      Audit.record(vertx, AuditEvent.of(subject, "config.reload", "conf", "refused").detail("trigger", trigger)
          .detail("error", busy.getMessage()));
      Failure.reply(message, busy);
      return;
    }
    reloading = true;
    vertx.executeBlocking(this::check, false)
        .recover(e -> Future.failedFuture(e instanceof ConfigError c
            ? Failure.badRequest("invalid_configuration", c.getMessage() + " (nothing was reloaded; the running settings stay)")
            : e))
        .compose(checked -> tls().compose(tls -> apply(checked, tls)))
        .onComplete(ar -> {
          reloading = false;
          if (ar.succeeded()) {
            JsonObject reloaded = ar.result();
            LOG.info("reload (" + trigger + "): " + reloaded.encode());
            Audit.record(vertx, AuditEvent.of(subject, "config.reload", "conf", "ok").detail("trigger", trigger)
                .detail("changes", reloaded.getJsonObject("reloaded").encode()));
            message.reply(reloaded);
          } else {
            Failure f = Failure.from(ar.cause());
            LOG.warning("reload (" + trigger + ") refused, the running settings stay: " + f.getMessage());
            Audit.record(vertx, AuditEvent.of(subject, "config.reload", "conf", f.status() < 500 ? "refused" : "failed")
                .detail("trigger", trigger).detail("error", f.getMessage()));
            Failure.reply(message, f);
          }
        });
  }

  /** On a worker: every reloadable file parsed and checked as start-up does, or a ConfigError naming file and key. */
  private Checked check() {
    ConfigFiles files = new ConfigFiles(startup.confDir(), env);
    ConfigNode root = files.load(Settings.FILE, false);
    // the server section is not applied (a restart is), but an edit that would stop the next start is refused now
    ServerSettings.from(root.get("server"), root.get("security").get("cors"), env);
    var plugins = startup.plugins();
    ModelSettings m = ModelSettings.load(files, plugins.modelProviders(), plugins.offProviderTypes());
    ChannelSettings c = ChannelSettings.load(files, plugins.channelProviders(), plugins.offChannelSections());
    RulesSettings r = RulesSettings.load(files, c);
    // as Settings.load: every URL the files make the gateway call
    startup.outbound().checkConfiguredUrls(files.load(ModelSettings.FILE, false), Set.of("endpoint"));
    startup.outbound().checkConfiguredUrls(files.load(ChannelSettings.FILE, false),
        Set.of("webhook", "url", "api_base", "domain", "session_webhook_hosts"));
    return new Checked(m, c, r, Raw.read(files));
  }

  /** The TLS files, checked and swapped by the ingress; the first step that changes anything, so a bad pair changes nothing. */
  private Future<JsonObject> tls() {
    if (!startup.server().tls().enabled()) {
      return Future.succeededFuture(new JsonObject().put("enabled", false).put("reloaded", false));
    }
    return vertx.eventBus().<JsonObject>request(Addresses.TLS_RELOAD, null)
        .map(m -> new JsonObject().put("enabled", true).put("reloaded", true).put("cert", startup.server().tls().cert()))
        // the ingress's refusal names the file and key (switchboard.yaml: server.tls.cert: ...), as at start-up
        .recover(e -> {
          Failure f = Failure.from(e);
          return Future.failedFuture(f.status() != 400 ? f : Failure.badRequest("invalid_configuration",
              f.getMessage() + " (nothing was reloaded; the running settings stay)"));
        });
  }

  private Future<JsonObject> apply(Checked next, JsonObject tls) {
    JsonObject reloaded = new JsonObject()
        .put("providers", diff(named(raw.models(), "providers"), named(next.raw().models(), "providers")))
        .put("groups", diff(named(raw.models(), "groups"), named(next.raw().models(), "groups")))
        .put("channels", diff(bots(raw.channels()), bots(next.raw().channels())))
        .put("rules", diff(named(raw.rules(), "rules"), named(next.raw().rules(), "rules")))
        .put("tls", tls);
    // new names become metric labels before a component registers a meter with them
    Metrics.configure(next.models(), next.channels());
    var bus = vertx.eventBus();
    return bus.request(Addresses.RULES_RELOAD, next.rules())
        .compose(v -> bus.request(Addresses.CHANNEL_RELOAD, next.channels()))
        .compose(v -> bus.request(Addresses.INBOUND_RELOAD, next.channels()))
        .compose(v -> bus.request(Addresses.MODEL_RELOAD, next.models()))
        .compose(v -> bus.request(Addresses.TASK_RELOAD, next.models()))
        .compose(v -> restartStreams(next.channels()))
        .map(restarted -> {
          raw = next.raw();
          reloaded.put("streams", new JsonObject().put("restarted", new JsonArray(restarted)));
          return new JsonObject().put("reloaded", reloaded).put("restart_required", new JsonArray(restartRequired(next)));
        });
  }

  // ---------------------------------------------------------------------------------------------
  // Stream-mode and long-connection bots

  /** The bots that hold a connection to their platform: DingTalk apps in Stream mode, Feishu apps on a long connection. */
  private static Map<String, Object> wanted(ChannelSettings c) {
    Map<String, Object> apps = new LinkedHashMap<>();
    c.dingtalkApps().values().stream().filter(a -> a.offReason() == null && "stream".equals(a.mode()))
        .forEach(a -> apps.put("dingtalk/" + a.name(), a));
    c.feishuApps().values().stream().filter(a -> a.offReason() == null && a.longConnection())
        .forEach(a -> apps.put("feishu/" + a.name(), a));
    return apps;
  }

  private Future<String> deploy(String key, Object app) {
    Future<String> id = app instanceof DingTalkApp d ? vertx.deployVerticle(new DingTalkStreamVerticle(d))
        : vertx.deployVerticle(new FeishuLongConnectionVerticle((FeishuApp) app));
    return id.onSuccess(i -> {
      streams.put(key, i);
      streamApps.put(key, app);
    });
  }

  /** A connection whose bot was removed or changed is closed; one for a new or changed bot is opened. */
  private Future<List<String>> restartStreams(ChannelSettings next) {
    Map<String, Object> want = wanted(next);
    List<String> restarted = new ArrayList<>();
    Future<Void> chain = Future.succeededFuture();
    for (String key : new ArrayList<>(streams.keySet())) {
      if (!Objects.equals(want.get(key), streamApps.get(key))) {
        String id = streams.remove(key);
        streamApps.remove(key);
        restarted.add(key);
        chain = chain.compose(v -> vertx.undeploy(id).recover(e -> Future.succeededFuture()));
      }
    }
    for (Map.Entry<String, Object> e : want.entrySet()) {
      if (!streams.containsKey(e.getKey())) {
        if (!restarted.contains(e.getKey())) {
          restarted.add(e.getKey());
        }
        // a connection that cannot open says so in its own log and keeps retrying, as at start-up
        chain = chain.compose(v -> deploy(e.getKey(), e.getValue()).<Void>mapEmpty().recover(x -> {
          LOG.warning("reload: " + e.getKey() + " not connected: " + x.getMessage());
          return Future.succeededFuture();
        }));
      }
    }
    return chain.map(v -> restarted);
  }

  // ---------------------------------------------------------------------------------------------
  // what changed

  /** Entries of a list of named mappings ({@code providers}, {@code groups}, {@code rules}), by name. */
  private static Map<String, Object> named(Map<String, Object> file, String key) {
    Map<String, Object> out = new LinkedHashMap<>();
    if (file.get(key) instanceof List<?> items) {
      for (Object item : items) {
        if (item instanceof Map<?, ?> m) {
          out.put(String.valueOf(m.get("name")), m);
        }
      }
    }
    return out;
  }

  /** Every bot of channels.yaml as "section/name" (a section that is not a list, such as alertmanager, as itself). */
  private static Map<String, Object> bots(Map<String, Object> file) {
    Map<String, Object> out = new LinkedHashMap<>();
    file.forEach((section, value) -> {
      if ("store".equals(section)) {
        return; // not swapped: restart_required
      }
      if (value instanceof List<?>) {
        named(file, section).forEach((name, bot) -> out.put(section + "/" + name, bot));
      } else {
        out.put(section, value);
      }
    });
    return out;
  }

  private static JsonObject diff(Map<String, Object> before, Map<String, Object> after) {
    JsonArray added = new JsonArray();
    JsonArray removed = new JsonArray();
    JsonArray changed = new JsonArray();
    after.forEach((name, entry) -> {
      if (!before.containsKey(name)) {
        added.add(name);
      } else if (!Objects.equals(before.get(name), entry)) {
        changed.add(name);
      }
    });
    before.keySet().stream().filter(name -> !after.containsKey(name)).forEach(removed::add);
    return new JsonObject().put("added", added).put("removed", removed).put("changed", changed);
  }

  /**
   * What differs from start-up but is only read at start-up: each key of switchboard.yaml (server
   * by its own keys), the channel store, the chat deadline the HTTP edge was given, memory's embeddings.
   */
  private List<String> restartRequired(Checked next) {
    List<String> keys = new ArrayList<>();
    Map<String, Object> before = startupRaw.switchboard();
    Map<String, Object> after = next.raw().switchboard();
    java.util.Set<String> all = new java.util.LinkedHashSet<>(before.keySet());
    all.addAll(after.keySet());
    for (String key : all) {
      Object was = before.get(key);
      Object is = after.get(key);
      if ("server".equals(key) && (was == null || was instanceof Map) && (is == null || is instanceof Map)) {
        Map<?, ?> b = was == null ? Map.of() : (Map<?, ?>) was;
        Map<?, ?> a = is == null ? Map.of() : (Map<?, ?>) is;
        java.util.Set<Object> sub = new java.util.LinkedHashSet<>(b.keySet());
        sub.addAll(a.keySet());
        sub.stream().filter(k -> !Objects.equals(b.get(k), a.get(k))).forEach(k -> keys.add(Settings.FILE + " server." + k));
      } else if (!Objects.equals(before.get(key), after.get(key))) {
        keys.add(Settings.FILE + " " + key);
      }
    }
    if (!Objects.equals(startupRaw.channels().get("store"), next.raw().channels().get("store"))) {
      keys.add(ChannelSettings.FILE + " store");
    }
    if (!startup.models().retry().deadline().equals(next.models().retry().deadline())) {
      keys.add(ModelSettings.FILE + " retry.deadline (the HTTP edge's chat timeout)");
    }
    if (!java.util.Objects.equals(startup.models().defaultModel(), next.models().defaultModel())) {
      // chats and tasks take the new one now; the summaries of conversation history keep the one memory started with
      keys.add(ModelSettings.FILE + " default_model (memory's summary model)");
    }
    if (!startup.models().embeddings().equals(next.models().embeddings())) {
      keys.add(ModelSettings.FILE + " embeddings (memory's embedder)");
    }
    return keys;
  }
}
