package dev.switchboard.model;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.logging.Logger;

/**
 * The model for a task or conversation that names none: {@code default_model} when it is set;
 * else the default provider's first model: the first entry of its {@code models:} list, or, for a
 * pass-through provider ({@code ["*"]}), the first model its {@code /models} answers. The default
 * provider is the first enabled one; while a pass-through provider's list cannot be had, the next
 * provider is tried, so that only when no model can be found at all is there none. A list that
 * cannot be read later keeps the model found before (a flaky upstream must not make the default
 * come and go). Each change is logged once. Confined to the dispatcher's event loop.
 */
final class DefaultModel {

  private static final Logger LOG = Logger.getLogger(DefaultModel.class.getName());

  /** What {@code model.default} answers; model and source null when there is none. */
  record Choice(String model, String source, String provider) {
    static final Choice NONE = new Choice(null, null, null);

    JsonObject toJson() {
      return new JsonObject().put("model", model).put("source", source).put("provider", provider);
    }

    String describe() {
      return switch (source) {
        case "discovered" -> model + " (from provider '" + provider + "''s model list)";
        case "listed" -> model + " (the first model provider '" + provider + "' lists in " + ModelSettings.FILE + ")";
        default -> model + " (default_model)";
      };
    }
  }

  private final String configured;
  /** Enabled providers in order, up to and including the first one that names its models. */
  private final List<Provider> candidates = new ArrayList<>();
  /** Pass-through candidates: their /models must be asked. */
  private final List<Provider> toAsk = new ArrayList<>();
  private final Map<String, String> discovered = new HashMap<>();
  private final Set<String> answered = new HashSet<>();
  private final Promise<Void> settled = Promise.promise();
  private Choice current;

  DefaultModel(String configured, Collection<Provider> enabled) {
    this.configured = configured == null ? "" : configured;
    if (this.configured.isEmpty()) {
      for (Provider p : enabled) {
        candidates.add(p);
        if (listed(p) != null) {
          break;
        }
        toAsk.add(p);
      }
    }
    current = resolve();
    settleWhenAnswered();
  }

  /** The providers whose {@code /models} decide the default: asked at start-up and with each probe. */
  List<Provider> toAsk() {
    return toAsk;
  }

  boolean asks(Provider p) {
    return toAsk.contains(p);
  }

  Choice current() {
    return current;
  }

  /** The first model {@code p}'s list gave, or null. */
  String discoveredOf(Provider p) {
    return discovered.get(p.name());
  }

  /** Completes once each provider to ask has answered (or failed) once: what the start-up banner waits for. */
  Future<Void> settled() {
    return settled.future();
  }

  /** {@code p}'s model list was read: its first model, or null when it was empty. */
  void listed(Provider p, String firstModel) {
    if (!asks(p)) {
      return;
    }
    if (firstModel != null && !firstModel.isEmpty()) {
      discovered.put(p.name(), firstModel);
    }
    answered.add(p.name());
    update();
  }

  /** {@code p}'s model list could not be had this time. */
  void failed(Provider p, String why) {
    if (!asks(p)) {
      return;
    }
    if (answered.add(p.name()) && !discovered.containsKey(p.name())) {
      LOG.info("provider '" + p.name() + "' did not list its models (" + why + "): it gives no default model for now");
    }
    update();
  }

  private void update() {
    Choice next = resolve();
    if (!next.equals(current) && next.model() != null) {
      LOG.info("default model is now " + next.describe());
    }
    current = next;
    settleWhenAnswered();
  }

  private void settleWhenAnswered() {
    if (toAsk.stream().allMatch(p -> answered.contains(p.name()))) {
      settled.tryComplete();
    }
  }

  private Choice resolve() {
    if (!configured.isEmpty()) {
      return new Choice(configured, "configured", null);
    }
    for (Provider p : candidates) {
      String named = listed(p);
      if (named != null) {
        return new Choice(named, "listed", p.name());
      }
      String found = discovered.get(p.name());
      if (found != null) {
        return new Choice(found, "discovered", p.name());
      }
    }
    return Choice.NONE;
  }

  /** The first model a provider names in its configuration, or null for a pass-through one. */
  private static String listed(Provider p) {
    return p.settings.models().stream().filter(m -> !"*".equals(m)).findFirst().orElse(null);
  }
}
