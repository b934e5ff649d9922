package dev.switchboard.plugin;

import dev.switchboard.agent.Skill;
import dev.switchboard.agent.SkillRegistry;
import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.Failure;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.logging.Logger;

/**
 * The plug-ins of this start, at run time: puts the skill plug-ins into the gateway's
 * {@link SkillRegistry} (source plug-in, origin its id), and answers {@link Addresses#PLUGINS_LIST}
 * and {@link Addresses#PLUGINS_SET}. Disabling or enabling a skill plug-in takes effect at once
 * (registry state); model providers and channels were wired into the settings at start, so for them
 * the choice applies at the next start. Either way the choice is saved in the data folder, from a worker.
 */
public final class PluginsVerticle extends VerticleBase {

  private static final Logger LOG = Logger.getLogger(PluginsVerticle.class.getName());

  private final Plugins plugins;
  private final Path dataDir;
  private final Map<String, Plugins.Plugin> byId = new LinkedHashMap<>();
  /** The saved choice, as the next start will read it. */
  private final Set<String> disabled = new TreeSet<>();
  /** The skill plug-ins' state now (they follow a choice at once). */
  private final Set<String> skillsOff = new TreeSet<>();
  /** Skill names a plug-in brought that the registry refused (taken or invalid), by plug-in id. */
  private final Map<String, java.util.List<String>> notAdded = new LinkedHashMap<>();
  /** Saves run one after another, so the file ends with the latest choice. */
  private Future<Void> saving = Future.succeededFuture();

  public PluginsVerticle(Plugins plugins, Path dataDir) {
    this.plugins = plugins;
    this.dataDir = dataDir;
  }

  @Override
  public Future<?> start() {
    SkillRegistry registry = SkillRegistry.of(vertx);
    disabled.addAll(plugins.disabledChoices());
    for (Plugins.Plugin p : plugins.all()) {
      if (p.id() == null || p.state() == Plugins.State.REFUSED) {
        continue;
      }
      byId.putIfAbsent(p.id(), p);
      if (p.type() == PluginManifest.Type.SKILL) {
        for (Object skill : p.services()) {
          if (!registry.add((Skill) skill, SkillRegistry.Source.PLUG_IN, p.id())) {
            notAdded.computeIfAbsent(p.id(), k -> new java.util.ArrayList<>()).add(((Skill) skill).name());
          }
        }
        if (p.state() == Plugins.State.DISABLED) {
          skillsOff.add(p.id());
          registry.state(p.id(), SkillRegistry.Source.PLUG_IN, SkillRegistry.State.DISABLED);
        }
      }
    }
    return Future.all(
            vertx.eventBus().localConsumer(Addresses.PLUGINS_LIST, m -> m.reply(list())).completion(),
            vertx.eventBus().<JsonObject>localConsumer(Addresses.PLUGINS_SET, this::set).completion());
  }

  private JsonObject list() {
    JsonArray data = new JsonArray();
    for (Plugins.Plugin p : plugins.all()) {
      data.add(view(p));
    }
    return new JsonObject().put("data", data);
  }

  /** A plug-in as it is now, and as the next start will have it. */
  private JsonObject view(Plugins.Plugin p) {
    JsonObject json = p.toJson();
    if (p.state() == Plugins.State.REFUSED) {
      return json;
    }
    if (notAdded.containsKey(p.id())) {
      json.put("reason", "not offered, the name is taken or not a tool name (see the start-up log): "
          + String.join(", ", notAdded.get(p.id())));
    }
    if (p.type() == PluginManifest.Type.SKILL) {
      json.put("state", (skillsOff.contains(p.id()) ? Plugins.State.DISABLED : Plugins.State.ENABLED).label());
    }
    return json.put("next_start", (disabled.contains(p.id()) ? Plugins.State.DISABLED : Plugins.State.ENABLED).label());
  }

  private void set(Message<JsonObject> message) {
    String id = message.body().getString("id");
    boolean enable = message.body().getBoolean("enabled", true);
    Plugins.Plugin plugin = byId.get(id);
    if (plugin == null) {
      Plugins.Plugin refused = plugins.all().stream().filter(p -> id.equals(p.id())).findFirst().orElse(null);
      Failure.reply(message, refused == null
          ? Failure.notFound("plugin_not_found", "no plug-in with id '" + id + "' (GET /api/v1/plugins lists them)")
          : Failure.conflict("plugin_refused", "plug-in " + id + " (" + refused.file() + ") was refused at start: " + refused.reason()));
      return;
    }
    boolean now = plugin.type() == PluginManifest.Type.SKILL;
    // one choice after another, each on the choices saved before it: a choice is taken (and answered)
    // only once its file is written, so a failed save changes nothing, now or at a later save
    saving = saving.recover(e -> Future.succeededFuture()).compose(v -> {
      Set<String> next = new TreeSet<>(disabled);
      if (enable) {
        next.remove(id);
      } else {
        next.add(id);
      }
      return vertx.executeBlocking(() -> {
        PluginChoices.save(dataDir, next);
        return null;
      }, true).map(saved -> {
        disabled.clear();
        disabled.addAll(next);
        if (now) {
          if (enable) {
            skillsOff.remove(id);
          } else {
            skillsOff.add(id);
          }
          SkillRegistry.of(vertx).state(id, SkillRegistry.Source.PLUG_IN,
              enable ? SkillRegistry.State.READY : SkillRegistry.State.DISABLED);
        }
        LOG.info("plug-in " + id + " " + (enable ? "enabled" : "disabled") + (now ? "" : " from the next start"));
        return view(plugin).put("applies", now ? "now" : "next start");
      }).onSuccess(message::reply)
          .onFailure(e -> Failure.reply(message, Failure.internal("could not save the choice: " + e.getMessage())))
          .mapEmpty();
    });
  }
}
