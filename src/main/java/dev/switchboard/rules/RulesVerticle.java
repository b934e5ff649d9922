package dev.switchboard.rules;

import dev.switchboard.audit.Audit;
import dev.switchboard.audit.AuditEvent;
import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.Failure;
import dev.switchboard.bus.Health;
import dev.switchboard.bus.PushRequest;
import dev.switchboard.bus.TaskSubmission;
import dev.switchboard.config.ConfigError;
import dev.switchboard.config.ConfigNode;
import io.vertx.core.AbstractVerticle;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The rule engine. Events arrive on {@link Addresses#RULES_EVENT} (stored inbound events, from
 * the events component, which retries until this answers) and {@link Addresses#EVENTS_RAISE}
 * (internal ones), schedule firings on {@link Addresses#RULES_FIRE}. Every enabled rule whose
 * trigger and condition hold fires, within its rate limit and cooldown; its actions run in order,
 * each through the bus, each with a key made of the rule, the event and the action's place, so an
 * event handled again (a retry) submits, pushes and remembers nothing twice.
 *
 * <p>The running set is swapped whole on the event loop: an event is evaluated against one set,
 * never half of two, and none is dropped while a new file is applied. The file is watched from a
 * worker thread (modification time and size, every second); a bad file keeps the running set and
 * is reported once in the log, in {@code PUT}'s 400 and in /readyz.
 */
public final class RulesVerticle extends AbstractVerticle {

  private static final Logger LOG = Logger.getLogger(RulesVerticle.class.getName());

  /** How long a chain of emitted events may get (an event, and what rules emit for it, and so on). */
  static final int MAX_DEPTH = 5;
  static final long WATCH_MS = 1_000;
  /** Event ids handled in full, remembered so that one delivered twice fires nothing twice. */
  private static final int HANDLED_MEMORY = 10_000;

  /** Replaced by a config reload (with the channels of that reload), on the event loop. */
  private RulesFile file;
  private final RuleMetrics metrics = new RuleMetrics();
  private RuleSet running;
  private long revision = 1;
  private RulesFile.Stamp stamp;
  private String loadError;
  private boolean watching;
  private boolean writing;
  private long timer = -1;
  private long syncGeneration;
  private final Map<String, State> states = new HashMap<>();
  private final Map<String, JsonArray> handled = new LinkedHashMap<>(256, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, JsonArray> eldest) {
      return size() > HANDLED_MEMORY;
    }
  };
  /**
   * Per event id, the rules admitted (past their cooldown and rate limit) for it: an event offered
   * again after a failed action fires them again without being counted, or refused, a second time.
   */
  private final Map<String, java.util.Set<String>> admittedFor = new LinkedHashMap<>(256, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, java.util.Set<String>> eldest) {
      return size() > HANDLED_MEMORY;
    }
  };
  /** Events being handled now: an offer that comes again meanwhile waits for the first one's answer. */
  private final Map<String, Future<JsonArray>> inFlight = new HashMap<>();
  /** Rules that API-made schedules carry, compiled once. */
  private final Map<String, Rule> definitions = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Rule> eldest) {
      return size() > 200;
    }
  };

  /** What GET /api/v1/rules shows of a rule besides its definition; kept across reloads by name. */
  private static final class State {
    long fired;
    String lastFired;
    String lastError;
    long lastFireMs;
    final ArrayDeque<Long> window = new ArrayDeque<>();
  }

  public RulesVerticle(RulesSettings settings) {
    this.file = settings.file();
    this.running = settings.initial();
  }

  @Override
  public void start(Promise<Void> started) {
    var bus = vertx.eventBus();
    metrics.names(running.byName().keySet());
    Future.all(List.of(
            bus.<JsonObject>localConsumer(Addresses.RULES_EVENT, guarded(this::onEvent)).completion(),
            bus.<JsonObject>localConsumer(Addresses.EVENTS_RAISE, m -> raised(m.body())).completion(),
            bus.<JsonObject>localConsumer(Addresses.RULES_FIRE, guarded(this::onFire)).completion(),
            bus.<JsonObject>localConsumer(Addresses.RULES_VALIDATE, guarded(this::onValidate)).completion(),
            bus.localConsumer(Addresses.RULES_LIST, m -> m.reply(list())).completion(),
            bus.<JsonObject>localConsumer(Addresses.RULES_PUT, guarded(this::onPut)).completion(),
            bus.<JsonObject>localConsumer(Addresses.RULES_TEST, guarded(this::onTest)).completion(),
            bus.localConsumer(Addresses.RULES_HEALTH, m -> m.reply(health())).completion(),
            bus.<RulesSettings>localConsumer(Addresses.RULES_RELOAD, this::onReload).completion()))
        .compose(v -> vertx.executeBlocking(file::stamp, false))
        .onSuccess(s -> {
          stamp = s;
          timer = vertx.setPeriodic(WATCH_MS, id -> watch());
          syncSchedules();
          started.complete();
        })
        .onFailure(started::fail);
  }

  @Override
  public void stop() {
    if (timer >= 0) {
      vertx.cancelTimer(timer);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // the file

  /** One look at the file per second, on a worker; a look still running (a slow disk) is not doubled. */
  private void watch() {
    if (watching || writing) {
      return;
    }
    watching = true;
    RulesFile.Stamp known = stamp;
    // a PUT applied while this read was under way is newer than what this read found
    long seen = revision;
    vertx.executeBlocking(() -> {
      RulesFile.Stamp now = file.stamp();
      if (now.equals(known)) {
        return null;
      }
      try {
        return new Loaded(now, file.load(), null);
      } catch (ConfigError e) {
        return new Loaded(now, null, e.getMessage());
      }
    }, false).onComplete(ar -> {
      watching = false;
      if (ar.failed()) {
        LOG.log(Level.WARNING, "rules: cannot check " + file.path() + ": " + ar.cause().getMessage());
        return;
      }
      Loaded loaded = ar.result();
      if (loaded == null || writing || revision != seen) {
        return;
      }
      stamp = loaded.stamp();
      if (loaded.set() != null) {
        apply(loaded.set(), "reloaded " + file.path());
      } else {
        loadError = loaded.error();
        // once per version of the file: the stamp is not looked at again until it changes
        LOG.warning("rules: " + loaded.error() + " (the running set of " + running.rules().size()
            + " rules, revision " + revision + ", stays in use)");
      }
    });
  }

  private record Loaded(RulesFile.Stamp stamp, RuleSet set, String error) {
  }

  /**
   * A config reload: the file checked with the reload's channels, already parsed. Applied like a
   * watched change; a watch under way when it lands is dropped (its revision is older). When the
   * file changed after the reload read it (an edit, a PUT), the parsed copy is older than the file:
   * only the channels are taken, and the watch reads the file again with them.
   */
  private void onReload(Message<RulesSettings> message) {
    RulesSettings next = message.body();
    vertx.executeBlocking(next.file()::stamp, false).onComplete(ar -> {
      file = next.file();
      if (ar.succeeded() && ar.result().equals(next.read()) && !writing) {
        stamp = ar.result();
        apply(next.initial(), "reloaded " + file.path() + " by a config reload");
      } else {
        stamp = RulesFile.Stamp.UNREAD;
        LOG.info("rules: " + file.path() + " changed after the config reload read it; it is read again");
      }
      message.reply(null);
    });
  }

  private void apply(RuleSet set, String why) {
    running = set;
    revision++;
    loadError = null;
    metrics.names(set.byName().keySet());
    states.keySet().retainAll(set.byName().keySet());
    LOG.info("rules: " + why + ": " + set.rules().size() + " rules, revision " + revision);
    syncSchedules();
  }

  /**
   * The scheduler gets the file's schedule rules on every load. It may start after this
   * verticle, so a sync nobody took is tried again for a while (a newer load supersedes it).
   */
  private void syncSchedules() {
    JsonArray rules = new JsonArray();
    for (Rule r : running.rules()) {
      if (r.enabled() && r.isSchedule()) {
        rules.add(new JsonObject().put("rule", r.name()).put("schedule", r.trigger().schedule().copy()));
      }
    }
    long generation = ++syncGeneration;
    sendSync(new JsonObject().put("rules", rules).put("revision", revision), generation, 30);
  }

  private void sendSync(JsonObject body, long generation, int triesLeft) {
    vertx.eventBus().request(Addresses.SCHEDULES_SYNC, body).onFailure(e -> {
      boolean nobody = e instanceof ReplyException re && re.failureType() == ReplyFailure.NO_HANDLERS;
      if (nobody && triesLeft > 1 && generation == syncGeneration) {
        vertx.setTimer(1_000, id -> sendSync(body, generation, triesLeft - 1));
      } else if (!nobody) {
        LOG.warning("rules: the scheduler did not take the schedules: " + e.getMessage());
      }
    });
  }

  private void onPut(Message<JsonObject> message) {
    JsonObject body = message.body();
    if (body == null || !(body.getValue("rules") instanceof JsonArray)) {
      Failure.reply(message, Failure.badRequest("invalid_rules", "the body must be {\"rules\": [...]}, the same shape as rules.yaml"));
      return;
    }
    if (writing) {
      Failure.reply(message, new Failure(409, "invalid_request_error", "rules_busy", "another PUT of the rules is being applied; try again"));
      return;
    }
    writing = true;
    JsonObject copy = new JsonObject().put("rules", body.getJsonArray("rules").copy());
    vertx.executeBlocking(() -> {
      RuleSet set = file.write(copy);
      return new Loaded(file.stamp(), set, null);
    }, false).onComplete(ar -> {
      writing = false;
      if (ar.failed()) {
        String problem = ar.cause() instanceof ConfigError e ? (e.key().isEmpty() ? "" : e.key() + ": ") + e.problem()
            : String.valueOf(ar.cause().getMessage());
        Failure.reply(message, Failure.badRequest("invalid_rules", problem));
        return;
      }
      stamp = ar.result().stamp();
      apply(ar.result().set(), "set by PUT /api/v1/rules");
      message.reply(list());
    });
  }

  private Health health() {
    JsonObject entry = new JsonObject()
        .put("status", loadError == null ? "up" : "stale")
        // the running set serves while the file is bad: not a reason to take the instance out
        .put("required", false)
        .put("revision", revision)
        .put("rules", running.rules().size());
    if (loadError != null) {
      entry.put("error", loadError);
    }
    return new Health(new JsonObject().put("rules", entry));
  }

  private JsonObject list() {
    JsonArray data = new JsonArray();
    for (Rule r : running.rules()) {
      State s = states.get(r.name());
      JsonObject d = r.definition();
      data.add(new JsonObject().put("name", r.name()).put("on", d.getValue("on")).put("if", d.getValue("if"))
          .put("do", d.getValue("do")).put("enabled", r.enabled())
          .put("rate_limit", d.getValue("rate_limit")).put("cooldown", d.getValue("cooldown"))
          .put("on_error", r.onError())
          .put("fired", s == null ? 0 : s.fired)
          .put("last_fired", s == null ? null : s.lastFired)
          .put("last_error", s == null ? null : s.lastError));
    }
    JsonObject out = new JsonObject().put("data", data).put("revision", revision);
    if (loadError != null) {
      out.put("load_error", loadError);
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------------
  // events

  /**
   * A body of the wrong shape (a string where an object belongs, say) is the sender's error: it
   * gets its 400 instead of no answer at all and a timeout.
   */
  private static io.vertx.core.Handler<Message<JsonObject>> guarded(io.vertx.core.Handler<Message<JsonObject>> handler) {
    return message -> {
      try {
        handler.handle(message);
      } catch (ClassCastException | IllegalArgumentException bad) {
        Failure.reply(message, Failure.badRequest("invalid_body", "the body has a field of the wrong type: " + bad.getMessage()));
      }
    };
  }

  private void onEvent(Message<JsonObject> message) {
    JsonObject event = message.body();
    String invalid = invalid(event);
    if (invalid != null) {
      Failure.reply(message, Failure.badRequest("invalid_event", invalid));
      return;
    }
    String id = event.getString("id");
    JsonArray before = handled.get(id);
    if (before != null) {
      message.reply(new JsonObject().put("fired", before.copy()).put("duplicate", true));
      return;
    }
    Future<JsonArray> pending = inFlight.get(id);
    if (pending == null) {
      pending = handle(event, 1).andThen(ar -> {
        inFlight.remove(id);
        if (ar.succeeded()) {
          handled.put(id, ar.result());
          admittedFor.remove(id);
        }
      });
      inFlight.put(id, pending);
    }
    pending.onComplete(ar -> {
      if (ar.succeeded()) {
        message.reply(new JsonObject().put("fired", ar.result()));
      } else {
        Failure.reply(message, ar.cause());
      }
    });
  }

  private void raised(JsonObject event) {
    String invalid = invalid(event);
    if (invalid != null) {
      LOG.warning("rules: an event raised on the bus was ignored: " + invalid);
      return;
    }
    if (handled.containsKey(event.getString("id"))) {
      return;
    }
    handle(event, 1).onSuccess(fired -> handled.put(event.getString("id"), fired));
  }

  private static String invalid(JsonObject event) {
    if (event == null) {
      return "no event";
    }
    if (!(event.getValue("id") instanceof String id) || id.isEmpty()) {
      return "an event needs a string id";
    }
    if (!(event.getValue("type") instanceof String type) || type.isEmpty()) {
      return "event " + event.getValue("id") + " has no type";
    }
    return null;
  }

  /**
   * Fires every rule the event matches; the answer lists them once all their actions have
   * answered. It fails (so the event is offered again) only when an action failed for a reason
   * worth retrying; each action's key makes the repeat harmless.
   */
  private Future<JsonArray> handle(JsonObject event, int depth) {
    RuleSet set = running;
    Map<String, Object> plain = Plain.of(event);
    List<Future<Boolean>> firings = new ArrayList<>();
    List<String> names = new ArrayList<>();
    for (Rule rule : set.rules()) {
      if (!rule.enabled() || rule.isSchedule() || !rule.trigger().matches(event) || !holds(rule, plain)) {
        continue;
      }
      metrics.matched(rule.name());
      java.util.Set<String> admittedHere = admittedFor.computeIfAbsent(event.getString("id"), k -> new java.util.HashSet<>());
      if (!admittedHere.contains(rule.name())) {
        if (!admitted(rule)) {
          continue;
        }
        admittedHere.add(rule.name());
      }
      names.add(rule.name());
      firings.add(fire(rule, event, plain, depth, set));
    }
    return Future.all(firings).map(all -> {
      JsonArray fired = new JsonArray();
      for (int i = 0; i < names.size(); i++) {
        if (Boolean.TRUE.equals(firings.get(i).result())) {
          fired.add(names.get(i));
        }
      }
      return fired;
    });
  }

  private boolean holds(Rule rule, Map<String, Object> event) {
    if (rule.condition() == null) {
      return true;
    }
    try {
      return rule.condition().test(event);
    } catch (IllegalStateException e) {
      // an event without a field the expression reads: not a match, and the rule says why
      state(rule).lastError = e.getMessage();
      metrics.failed(rule.name(), -1);
      return false;
    }
  }

  /** Within the rate limit and past the cooldown: then the firing is counted now. */
  private boolean admitted(Rule rule) {
    State s = state(rule);
    long now = System.currentTimeMillis();
    if (!rule.cooldown().isZero() && s.lastFireMs > 0 && now - s.lastFireMs < rule.cooldown().toMillis()) {
      return false;
    }
    if (rule.fires() > 0) {
      while (!s.window.isEmpty() && now - s.window.peekFirst() >= rule.per().toMillis()) {
        s.window.pollFirst();
      }
      if (s.window.size() >= rule.fires()) {
        return false;
      }
      s.window.addLast(now);
    }
    s.lastFireMs = now;
    return true;
  }

  private State state(Rule rule) {
    return states.computeIfAbsent(rule.name(), n -> new State());
  }

  /**
   * Runs the rule's actions in order ({@code results} of earlier ones visible to later templates).
   * True when all succeeded; false when one failed for good (recorded, on_error fired); a failure
   * worth retrying fails the future.
   */
  private Future<Boolean> fire(Rule rule, JsonObject event, Map<String, Object> plain, int depth, RuleSet set) {
    long started = System.nanoTime();
    Map<String, Object> results = new LinkedHashMap<>();
    Map<String, Object> context = new HashMap<>();
    context.put("event", plain);
    context.put("results", results);
    Future<Void> chain = Future.succeededFuture();
    int[] at = {0};
    for (int i = 0; i < rule.actions().size(); i++) {
      int index = i;
      Action action = rule.actions().get(i);
      chain = chain.compose(v -> {
        at[0] = index;
        JsonObject rendered;
        try {
          rendered = action.render(context);
        } catch (IllegalStateException e) {
          return Future.failedFuture(Failure.badRequest("action_failed", e.getMessage()));
        }
        return execute(rule, action.kind(), rendered, event, index, depth).map(result -> {
          Object r = Plain.value(result);
          results.put(String.valueOf(index), r);
          results.put(action.kind(), r);
          return null;
        });
      });
    }
    return chain.map(v -> {
      State s = state(rule);
      s.fired++;
      // last_error stays: it is the last one, for someone who looks later, not the current state
      s.lastFired = Instant.now().toString();
      metrics.fired(rule.name(), System.nanoTime() - started);
      Audit.record(vertx, AuditEvent.of("", "rule.fired", rule.name(), "ok").detail("event", event.getString("id")));
      return true;
    }).recover(e -> {
      Failure f = Failure.from(e);
      String error = "action " + at[0] + " (" + rule.actions().get(at[0]).kind() + "): " + f.getMessage();
      state(rule).lastError = error;
      metrics.failed(rule.name(), System.nanoTime() - started);
      Audit.record(vertx, AuditEvent.of("", "rule.fired", rule.name(), "failed").detail("event", event.getString("id")).detail("error", f.code()));
      LOG.warning("rules: rule '" + rule.name() + "' failed on event " + event.getString("id") + ": " + error);
      onError(rule, event, error, depth, set);
      return f.retryable() ? Future.failedFuture(f) : Future.succeededFuture(false);
    });
  }

  /** The rule named in on_error fires with {type: rule_error, rule, error, event}. */
  private void onError(Rule failed, JsonObject event, String error, int depth, RuleSet set) {
    if (failed.onError() == null) {
      return;
    }
    Rule handler = set.byName().get(failed.onError());
    if (handler == null || !handler.enabled()) {
      return;
    }
    if (depth + 1 > MAX_DEPTH) {
      LOG.warning("rules: on_error rule '" + handler.name() + "' not fired: the chain depth limit " + MAX_DEPTH + " is reached");
      return;
    }
    JsonObject errorEvent = new JsonObject().put("id", "error:" + failed.name() + ":" + event.getString("id"))
        .put("type", "rule_error").put("time", Instant.now().toString())
        .put("rule", failed.name()).put("error", error).put("event", event);
    Map<String, Object> plain = Plain.of(errorEvent);
    if (holds(handler, plain) && admitted(handler)) {
      metrics.matched(handler.name());
      fire(handler, errorEvent, plain, depth + 1, set);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // actions

  /** The skills an agent or task action names; null (the default skills) when it names none. */
  private static List<String> skills(JsonObject action) {
    return action.getValue("skills") instanceof JsonArray named ? strings(named) : null;
  }

  private Future<Object> execute(Rule rule, String kind, JsonObject a, JsonObject event, int index, int depth) {
    String eventId = event.getString("id");
    String key = key(rule.name(), eventId, index);
    var bus = vertx.eventBus();
    TaskSubmission.Origin origin = new TaskSubmission.Origin(rule.name(), eventId);
    switch (kind) {
      case "agent" -> {
        List<TaskSubmission.Target> targets = targets(a.getJsonArray("channels"));
        TaskSubmission.Conversation conversation = null;
        List<String> scopes = strings(a.getJsonArray("memory_scopes"));
        String subject = "rule:" + rule.name();
        List<String> skills = skills(a);
        boolean botSkills = false;
        if (a.getBoolean("reply")) {
          JsonObject reply = event.getValue("reply") instanceof JsonObject r ? r : null;
          JsonObject target = reply == null ? null : reply.getJsonObject("target");
          if (target == null) {
            return Future.failedFuture(Failure.badRequest("no_reply_target",
                "agent reply: true needs an event that can be answered (a message); this one is " + event.getString("type")));
          }
          targets.add(0, new TaskSubmission.Target(target.getString("type"), target.getString("bot"),
              target.getJsonObject("address")));
          JsonObject c = reply.getJsonObject("conversation");
          if (c != null && c.getString("key") != null) {
            conversation = new TaskSubmission.Conversation(c.getString("key"), c.getInteger("turns", 10));
          }
          if (scopes.isEmpty() && reply.getJsonArray("memory_scopes") != null) {
            scopes = strings(reply.getJsonArray("memory_scopes"));
          }
          // the replying bot's skills, unless the action names its own
          if (skills == null && reply.getValue("skills") instanceof JsonArray named) {
            skills = strings(named);
            botSkills = true;
          }
          // usage is counted per bot, as it was before conversations became a rule
          subject = target.getString("type") + ":" + target.getString("bot");
        }
        TaskSubmission.Conversation history = conversation;
        List<String> memory = scopes;
        String caller = subject;
        // a bot's skills were checked at start-up with a warning: one no skill has (yet) is left out, not a refusal
        return (botSkills ? knownOnly(skills) : Future.succeededFuture(skills))
            .compose(named -> bus.<JsonObject>request(Addresses.TASK_SUBMIT, new TaskSubmission(a.getString("prompt"),
                blankToNull(a.getString("model")), targets, TaskSubmission.Priority.NORMAL, key, caller, history, 0, memory, 0, 0,
                origin, named)))
            .map(m -> m.body());
      }
      case "task" -> {
        if (a.getString("input").isBlank()) {
          return Future.failedFuture(Failure.badRequest("action_failed", "task: the input is empty for this event"));
        }
        TaskSubmission submission = new TaskSubmission(a.getString("input"), blankToNull(a.getString("model")),
            targets(a.getJsonArray("channels")), TaskSubmission.Priority.valueOf(a.getString("priority").toUpperCase()),
            key, "rule:" + rule.name(), null, 0, strings(a.getJsonArray("memory_scopes")), 0, a.getInteger("max_attempts"),
            origin, skills(a));
        return bus.<JsonObject>request(Addresses.TASK_SUBMIT, submission).map(m -> m.body());
      }
      case "push" -> {
        List<Future<Object>> pushes = new ArrayList<>();
        for (Object o : a.getJsonArray("channels")) {
          JsonObject c = (JsonObject) o;
          JsonObject message = c.getJsonObject("message", a.getJsonObject("message"));
          String text = a.getString("text", "");
          pushes.add(bus.<JsonObject>request(Addresses.CHANNEL_PUSH,
              new PushRequest(c.getString("type"), c.getString("bot"), text, key, null, message)).map(m -> m.body()));
        }
        return Future.all(pushes).map(all -> new JsonArray(all.list()));
      }
      case "webhook" -> {
        JsonObject body = a.getJsonObject("body") != null ? a.getJsonObject("body") : event;
        return bus.<JsonObject>request(Addresses.CHANNEL_PUSH,
            new PushRequest("webhook", a.getString("name"), body.encode(), key, null, body)).map(m -> m.body());
      }
      case "remember" -> {
        if (a.getString("content").isBlank() || a.getString("scope").isBlank()) {
          return Future.failedFuture(Failure.badRequest("action_failed", "remember: content or scope is empty for this event"));
        }
        JsonObject memory = new JsonObject().put("content", a.getString("content")).put("scope", a.getString("scope"))
            .put("source", "rule:" + rule.name());
        return bus.<JsonObject>request(Addresses.MEMORY_ADD, memory).map(m -> m.body());
      }
      case "emit" -> {
        if (depth + 1 > MAX_DEPTH) {
          return Future.failedFuture(Failure.badRequest("chain_too_deep",
              "emit: the chain depth limit " + MAX_DEPTH + " is reached (rules emitting events for each other)"));
        }
        JsonObject emitted = new JsonObject().put("id", "emit:" + key.substring("rule:".length()))
            .put("type", a.getString("type")).put("time", Instant.now().toString())
            .put("body", a.getValue("body")).put("source", new JsonObject().put("rule", rule.name()).put("event", eventId));
        return handle(emitted, depth + 1).map(fired -> new JsonObject().put("id", emitted.getString("id")).put("fired", fired));
      }
      default -> {
        return Future.failedFuture(Failure.internal("unknown action " + kind));
      }
    }
  }

  /** The names some skill has now; all of them when the skills component cannot say (the task component checks again). */
  private Future<List<String>> knownOnly(List<String> names) {
    return vertx.eventBus().<JsonObject>request(Addresses.AGENT_SKILLS, null).map(m -> {
      java.util.Set<String> known = new java.util.HashSet<>();
      m.body().getJsonArray("data", new JsonArray()).forEach(o -> known.add(((JsonObject) o).getString("name")));
      return names.stream().filter(known::contains).toList();
    }).recover(e -> Future.succeededFuture(names));
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s;
  }

  private static List<String> strings(JsonArray a) {
    List<String> out = new ArrayList<>();
    if (a != null) {
      a.forEach(o -> {
        if (o != null && !String.valueOf(o).isBlank()) {
          out.add(String.valueOf(o));
        }
      });
    }
    return out;
  }

  private static List<TaskSubmission.Target> targets(JsonArray channels) {
    List<TaskSubmission.Target> out = new ArrayList<>();
    if (channels != null) {
      for (Object o : channels) {
        JsonObject c = (JsonObject) o;
        out.add(new TaskSubmission.Target(c.getString("type"), c.getString("bot"), null, c.getJsonObject("message")));
      }
    }
    return out;
  }

  /** rule:<rule>:<event>:<action>, short enough for an idempotency key (255) whatever the event id. */
  static String key(String rule, String eventId, int index) {
    String event = eventId.length() <= 160 ? eventId : sha256(eventId);
    return "rule:" + rule + ":" + event + ":" + index;
  }

  private static String sha256(String s) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // schedules, validation, dry runs

  private void onFire(Message<JsonObject> message) {
    JsonObject body = message.body() == null ? new JsonObject() : message.body();
    String name = body.getString("rule");
    Rule rule;
    try {
      rule = body.getValue("definition") instanceof JsonObject d ? definition(d) : running.byName().get(name);
    } catch (ConfigError e) {
      Failure.reply(message, Failure.badRequest("invalid_rule", e.key() + ": " + e.problem()));
      return;
    }
    if (rule == null) {
      Failure.reply(message, Failure.notFound("unknown_rule", "no rule named '" + name + "'"));
      return;
    }
    if (!rule.enabled()) {
      message.reply(null);
      return;
    }
    JsonObject event = body.getJsonObject("event", new JsonObject()).copy();
    event.put("type", event.getString("type", "schedule")).put("rule", event.getString("rule", rule.name()));
    if (event.getString("id") == null) {
      event.put("id", "schedule:" + rule.name() + ":" + event.getString("fire_time", Instant.now().toString()));
    }
    if (event.getString("time") == null) {
      event.put("time", Instant.now().toString());
    }
    Map<String, Object> plain = Plain.of(event);
    if (!holds(rule, plain)) {
      message.reply(null);
      return;
    }
    metrics.matched(rule.name());
    if (!admitted(rule)) {
      message.reply(null);
      return;
    }
    fire(rule, event, plain, 1, running).onComplete(ar -> {
      if (ar.succeeded()) {
        message.reply(null);
      } else {
        Failure.reply(message, ar.cause());
      }
    });
  }

  private Rule definition(JsonObject d) {
    String encoded = d.encode();
    Rule known = definitions.get(encoded);
    if (known == null) {
      known = Rule.parse(ConfigNode.of("schedule " + d.getValue("name"), RulesFile.plainOf(d)), file.channels());
      definitions.put(encoded, known);
    }
    return known;
  }

  private void onValidate(Message<JsonObject> message) {
    JsonObject d = message.body();
    if (d == null) {
      Failure.reply(message, Failure.badRequest("invalid_rule", "no rule given"));
      return;
    }
    try {
      Rule.parse(ConfigNode.of("rule", RulesFile.plainOf(d)), file.channels());
      message.reply(null);
    } catch (ConfigError e) {
      Failure.reply(message, Failure.badRequest("invalid_rule", (e.key().isEmpty() ? "" : e.key() + ": ") + e.problem()));
    }
  }

  /** Which rules the event would fire and what they would do; no state changes, nothing sent. */
  private void onTest(Message<JsonObject> message) {
    JsonObject body = message.body();
    JsonObject event = body != null && body.getValue("event") instanceof JsonObject e ? e : null;
    if (event == null) {
      Failure.reply(message, Failure.badRequest("invalid_event", "the body must be {\"event\": {...}}"));
      return;
    }
    event = event.copy();
    if (event.getString("id") == null) {
      event.put("id", "test");
    }
    if (event.getString("time") == null) {
      event.put("time", Instant.now().toString());
    }
    Map<String, Object> plain = Plain.of(event);
    Map<String, Object> context = new HashMap<>();
    context.put("event", plain);
    context.put("results", new LinkedHashMap<>());
    JsonArray data = new JsonArray();
    for (Rule rule : running.rules()) {
      boolean triggered = rule.isSchedule()
          ? "schedule".equals(event.getString("type")) && rule.name().equals(event.getValue("rule"))
          : rule.trigger().matches(event);
      JsonObject row = new JsonObject().put("rule", rule.name());
      boolean matched = false;
      if (rule.enabled() && triggered) {
        try {
          matched = rule.condition() == null || rule.condition().test(plain);
        } catch (IllegalStateException e) {
          row.put("error", e.getMessage());
        }
      }
      row.put("matched", matched);
      JsonArray actions = new JsonArray();
      if (matched) {
        try {
          actions = Action.list(rule.actions(), context);
        } catch (IllegalStateException e) {
          row.put("error", e.getMessage());
        }
      }
      data.add(row.put("actions", actions));
    }
    message.reply(new JsonObject().put("data", data).put("revision", revision));
  }
}
