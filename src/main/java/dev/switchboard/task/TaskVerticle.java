package dev.switchboard.task;

import dev.switchboard.agent.AgentRunner;
import dev.switchboard.agent.AgentSettings;
import dev.switchboard.audit.Audit;
import dev.switchboard.audit.AuditEvent;
import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.Failure;
import dev.switchboard.bus.Health;
import dev.switchboard.bus.TaskSubmission;
import dev.switchboard.bus.TaskSubmission.Priority;
import dev.switchboard.observe.Metrics;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * The task component: the bus API of the queue (submit, get, list, cancel, retry, health) and this
 * instance's workers. The queue itself is a {@link TaskQueue} of the storage profile; the agent
 * that answers a task is {@link AgentRunner}; running one task is {@link TaskRunner}; the pool
 * that leases and runs them is {@link Workers}.
 */
public final class TaskVerticle extends VerticleBase {

  private static final Logger LOG = Logger.getLogger(TaskVerticle.class.getName());

  /** A submission not durably stored within this long is answered 503: never hang, never 202 without the write. */
  static final long SUBMIT_TIMEOUT_MS = 2_000;
  private static final long STATS_EVERY_MS = 5_000;
  private static final long PURGE_EVERY_MS = Duration.ofMinutes(10).toMillis();

  /**
   * {@code worker}: this instance's id, the name its leases carry; {@code memorySkills}: offer
   * the model remember/recall when a task has memory scopes; {@code noProvider}: why no model can
   * answer (no provider configured), or null when one can: such tasks are refused at submission
   * instead of failing their attempts later; {@code agent}: the agent's budgets (switchboard.yaml's
   * {@code agent:} section).
   */
  public record Options(QueueSettings queue, String profile, Path dataDir, String redisUrl, String worker,
                        boolean memorySkills, String noProvider, AgentSettings agent) {

    /** The agent's default budgets. */
    public Options(QueueSettings queue, String profile, Path dataDir, String redisUrl, String worker,
                   boolean memorySkills, String noProvider) {
      this(queue, profile, dataDir, redisUrl, worker, memorySkills, noProvider, AgentSettings.defaults());
    }
  }

  private final Options options;
  /** Why no task can run (no provider is on), or null; a config reload that turns a provider on clears it. */
  private String noProvider;
  private TaskQueues.Opened opened;
  private TaskQueue queue;
  private Workers workers;
  private Metrics metrics;
  /** The queue's last stats, for the gauges (read on the scrape thread) and /readyz; null until known. */
  private volatile TaskQueue.Stats stats;
  private final List<Long> timers = new ArrayList<>();

  public TaskVerticle(Options options) {
    this.options = options;
  }

  @Override
  public Future<?> start() {
    metrics = Metrics.current();
    noProvider = options.noProvider();
    QueueSettings settings = options.queue();
    return TaskQueues.open(vertx, options.profile(), options.dataDir(), options.redisUrl(), settings).compose(o -> {
      opened = o;
      queue = o.queue();
      AgentRunner agent = new AgentRunner(vertx, options.memorySkills(), settings.taskTimeout(),
          options.agent().budgets(settings.taskTimeout()));
      workers = new Workers(vertx, queue, new TaskRunner(vertx, queue, agent, settings, metrics), options.worker(), settings);
      gauges();
      var bus = vertx.eventBus();
      return Future.all(List.of(
          bus.<TaskSubmission>localConsumer(Addresses.TASK_SUBMIT, this::submit).completion(),
          bus.<dev.switchboard.model.ModelSettings>localConsumer(Addresses.TASK_RELOAD, m -> {
            noProvider = m.body().anyEnabled() ? null : m.body().howToEnable();
            m.reply(null);
          }).completion(),
          bus.<String>localConsumer(Addresses.TASK_GET, this::get).completion(),
          bus.<JsonObject>localConsumer(Addresses.TASK_LIST, this::list).completion(),
          bus.<String>localConsumer(Addresses.TASK_CANCEL, this::cancel).completion(),
          bus.<String>localConsumer(Addresses.TASK_RETRY, this::retry).completion(),
          bus.<Void>localConsumer(Addresses.TASK_HEALTH, this::health).completion()));
    }).onSuccess(v -> {
      workers.start();
      // every instance reclaims: the queue makes it safe to do at once, and a lone survivor must do it
      long reclaimEvery = Math.max(1_000, Math.min(10_000, settings.visibilityTimeout().toMillis() / 4));
      timers.add(vertx.setPeriodic(reclaimEvery, id -> reclaim()));
      timers.add(vertx.setPeriodic(STATS_EVERY_MS, id -> refreshStats()));
      timers.add(vertx.setPeriodic(PURGE_EVERY_MS, id -> purge()));
      refreshStats();
    });
  }

  @Override
  public Future<?> stop() {
    timers.forEach(vertx::cancelTimer);
    if (opened == null) {
      return Future.succeededFuture();
    }
    return workers.stop().eventually(() -> opened.close());
  }

  // ---------------------------------------------------------------------------------------------
  // submissions

  /**
   * Checks what can be checked now (a model to use, usable channels), stores, then acknowledges.
   * A message from a platform is stored even when a check fails, as a task that fails at once
   * with the reason: the platform was told 200 and its sender should find out why nothing came.
   */
  private void submit(Message<TaskSubmission> message) {
    TaskSubmission s = message.body();
    boolean inbound = s.channels().stream().anyMatch(t -> t.address() != null);
    checks(s)
        .transform(ar -> {
          if (ar.succeeded()) {
            return store(s, null);
          }
          Failure refused = Failure.from(ar.cause());
          return inbound && !refused.retryable() ? store(s, refused.getMessage()) : Future.failedFuture(refused);
        })
        .onSuccess(submitted -> Audit.record(vertx, AuditEvent.of(s.subject(), "task.submitted", submitted.task().id(), "ok")
            .size("input_chars", s.input() == null ? 0 : s.input().length())))
        .onSuccess(submitted -> {
          if (submitted.created()) {
            vertx.eventBus().publish(Addresses.TASK_EVENTS, new JsonObject().put("id", submitted.task().id())
                .put("status", submitted.task().status()).put("result", null).put("error", null)
                .put("time", java.time.Instant.now().toString()));
          }
          message.reply(new JsonObject().put("id", submitted.task().id()).put("status", submitted.task().status()));
        })
        .onFailure(e -> Failure.reply(message, e));
  }

  private Future<Void> checks(TaskSubmission s) {
    if (noProvider != null) {
      return Future.failedFuture(Failure.unavailable("no_provider",
          "no model provider is configured, so no task can run: " + noProvider));
    }
    // a model list not read yet is no reason to refuse: the task is stored and its run waits for the list
    Future<Void> model = s.model() != null && !s.model().isEmpty() ? Future.succeededFuture()
        : TaskRunner.defaultModel(vertx, TaskRunner.SUBMIT_MODEL_WAIT_MS).compose(d -> d.getString("model") != null || Boolean.TRUE.equals(d.getBoolean("pending"))
            ? Future.<Void>succeededFuture()
            : Future.failedFuture(Failure.badRequest("model_required",
                "the task names no model and no default can be found: set MODEL_NAME (default_model in conf/model_provider.yaml), "
                    + "or give the default provider a model list")));
    return model.compose(v -> skillsKnown(s.skills())).compose(v -> {
      List<Future<Object>> checks = new ArrayList<>();
      s.channels().forEach(target -> checks.add(vertx.eventBus().request(Addresses.CHANNEL_CHECK, target).mapEmpty()));
      return Future.all(checks).mapEmpty();
    });
  }

  /** Every skill a task names must exist: a misspelt one is the client's error, not a silently smaller agent. */
  private Future<Void> skillsKnown(List<String> named) {
    if (named == null || named.isEmpty()) {
      return Future.succeededFuture();
    }
    return vertx.eventBus().<JsonObject>request(Addresses.AGENT_SKILLS, null).compose(m -> {
      java.util.Set<String> known = new java.util.TreeSet<>();
      m.body().getJsonArray("data", new JsonArray()).forEach(o -> known.add(((JsonObject) o).getString("name")));
      List<String> unknown = named.stream().filter(n -> !known.contains(n)).toList();
      return unknown.isEmpty() ? Future.succeededFuture()
          : Future.failedFuture(Failure.badRequest("unknown_skill",
              "no skill named " + String.join(", ", unknown) + "; the skills are: " + String.join(", ", known)));
    });
  }

  /** Durable before it answers; {@code refused}: the reason a platform's message cannot run (stored to fail at once). */
  private Future<TaskQueue.Submitted> store(TaskSubmission s, String refused) {
    JsonObject spec = TaskSpec.of(s).toJson();
    // the request that submitted it: its run, model calls and pushes log the same id
    String requestId = dev.switchboard.observe.RequestIds.current();
    if (requestId != null) {
      spec.put("request_id", requestId);
    }
    if (refused != null) {
      spec.put("refused", refused);
    }
    long runAt = s.runAt() > 0 ? s.runAt() : s.delayMillis() > 0 ? System.currentTimeMillis() + s.delayMillis() : 0;
    int attempts = s.maxAttempts() > 0 ? s.maxAttempts() : options.queue().maxAttempts();
    return queue.submit(new TaskQueue.NewTask(spec, s.priority(), runAt, refused != null ? 1 : attempts, s.subject(),
            s.idempotencyKey()))
        .timeout(SUBMIT_TIMEOUT_MS, TimeUnit.MILLISECONDS)
        .recover(e -> {
          Failure f = Failure.from(e);
          if (e instanceof java.util.concurrent.TimeoutException) {
            f = Failure.unavailable("store_unavailable",
                "the task store did not confirm the write within " + SUBMIT_TIMEOUT_MS / 1000 + "s; the task may not be stored, submit it again (with an idempotency_key to be safe)");
          } else if (!f.retryable() && f.status() != 400) {
            f = Failure.unavailable("store_unavailable", "the task store is unavailable: " + e.getMessage());
          }
          if (f.status() >= 500) {
            LOG.fine("task not stored: " + e);
          }
          return Future.failedFuture(f);
        });
  }

  // ---------------------------------------------------------------------------------------------
  // reading and changing tasks

  /** The task and, from the channel component, its deliveries. */
  private void get(Message<String> message) {
    String id = message.body();
    queue.get(id)
        .recover(e -> Future.failedFuture(unavailable(e)))
        .compose(found -> found.isEmpty()
            ? Future.failedFuture(Failure.notFound("task_not_found", "no task with id '" + id + "'"))
            : vertx.eventBus().<JsonArray>request(Addresses.CHANNEL_TASK_DELIVERIES, id)
                .map(reply -> detail(found.get()).put("deliveries", reply.body())))
        .onSuccess(message::reply)
        .onFailure(e -> Failure.reply(message, e));
  }

  private void list(Message<JsonObject> message) {
    JsonObject q = message.body();
    String priority = q.getString("priority");
    // a bad cursor or status may be thrown rather than returned: either way the client's 400
    Future.<Void>succeededFuture()
        .compose(v -> queue.list(q.getString("status"), priority == null ? null : Priority.valueOf(priority.toUpperCase()),
            q.getInteger("limit", 50), q.getString("cursor")))
        .onSuccess(page -> {
          JsonArray data = new JsonArray();
          page.tasks().forEach(t -> data.add(view(t)));
          message.reply(new JsonObject().put("data", data).put("next_cursor", page.nextCursor()));
        })
        .onFailure(e -> Failure.reply(message, e instanceof Failure ? e : unavailable(e)));
  }

  private void cancel(Message<String> message) {
    String id = message.body();
    queue.cancel(id).onComplete(ar -> changed(message, id, ar.failed() ? null : ar.result(), ar.cause(), "cancelled"));
  }

  private void retry(Message<String> message) {
    String id = message.body();
    queue.retry(id).onComplete(ar -> changed(message, id, ar.failed() ? null : ar.result(), ar.cause(), "retried"));
  }

  private void changed(Message<String> message, String id, TaskQueue.Changed changed, Throwable error, String verb) {
    if (error != null) {
      Failure.reply(message, error instanceof Failure ? error : unavailable(error));
      return;
    }
    switch (changed.change()) {
      case DONE -> message.reply(view(changed.task()));
      case NOT_FOUND -> Failure.reply(message, Failure.notFound("task_not_found", "no task with id '" + id + "'"));
      case CONFLICT -> Failure.reply(message, new Failure(409, "invalid_request_error", "task_conflict",
          "task '" + id + "' is " + changed.task().status() + " and cannot be " + verb
              + ("cancelled".equals(verb) ? " (only queued or running tasks can)" : " (only failed or cancelled tasks can)")));
    }
  }

  private static Failure unavailable(Throwable e) {
    return Failure.unavailable("store_unavailable", "the task store is unavailable: " + e.getMessage());
  }

  /** The API view of a task (design §3.3, plus what the queue knows). */
  static JsonObject view(TaskQueue.Task t) {
    TaskSpec spec = TaskSpec.from(t.spec());
    return new JsonObject()
        .put("id", t.id())
        .put("status", t.status())
        .put("input", spec.input())
        .put("model", spec.model())
        .put("priority", t.priority().label())
        .put("subject", t.subject())
        .put("result", t.result())
        .put("error", t.error())
        .put("attempts", t.attempts())
        .put("max_attempts", t.maxAttempts())
        // runs whose worker died (kill -9, a lost machine): not attempts, bounded by queue.max_lost
        .put("lost", t.lost())
        .put("created_at", iso(t.createdAt()))
        .put("run_at", t.runAt() > t.createdAt() ? iso(t.runAt()) : null)
        .put("updated_at", iso(t.updatedAt()))
        .put("skills", spec.skills() == null ? null : new JsonArray(new ArrayList<>(spec.skills())))
        .put("rule", spec.origin() == null ? null : spec.origin().rule())
        .put("event", spec.origin() == null ? null : spec.origin().event())
        .put("request_id", t.spec().getString("request_id"));
  }

  /** One task as {@code GET /api/v1/tasks/{id}} shows it: the view, and what its last run did, when it asked a model. */
  static JsonObject detail(TaskQueue.Task t) {
    JsonObject view = view(t);
    if (t.trace() != null && !t.trace().isEmpty()) {
      view.put("trace", t.trace().copy());
    }
    return view;
  }

  private static String iso(long millis) {
    return Instant.ofEpochMilli(millis).toString();
  }

  // ---------------------------------------------------------------------------------------------
  // upkeep, health and metrics

  private void reclaim() {
    queue.reclaim().onSuccess(n -> {
      if (n > 0) {
        LOG.info("took back " + n + " task(s) from workers whose lease ran out");
        metrics.tasksReclaimed(n);
      }
    });
  }

  private void purge() {
    queue.purge(System.currentTimeMillis() - options.queue().retention().toMillis()).onSuccess(n -> {
      if (n > 0) {
        LOG.fine("removed " + n + " finished task(s) older than queue.retention");
      }
    });
  }

  private void refreshStats() {
    queue.stats().onSuccess(s -> stats = s);
  }

  private void gauges() {
    for (Priority p : Priority.values()) {
      String label = p.label();
      metrics.gauge("switchboard.queue.depth", "Tasks waiting to run (runnable now)", this,
          v -> v.depth(p).waiting(), "priority", label);
      metrics.gauge("switchboard.queue.scheduled", "Tasks waiting for their time (delayed or retry-at)", this,
          v -> v.depth(p).scheduled(), "priority", label);
      metrics.gauge("switchboard.queue.oldest.age.seconds", "Age of the oldest runnable task", this,
          v -> v.depth(p).oldestAgeSeconds(), "priority", label);
    }
    metrics.gauge("switchboard.queue.running", "Tasks this instance runs now", this, v -> v.workers.running());
  }

  private TaskQueue.Depth depth(Priority p) {
    TaskQueue.Stats s = stats;
    TaskQueue.Depth d = s == null ? null : s.byPriority().get(p);
    return d == null ? new TaskQueue.Depth(0, 0, 0) : d;
  }

  private void health(Message<Void> message) {
    Future<TaskQueue.Stats> asked = queue.ping().compose(v -> queue.stats());
    Future<JsonObject> model = vertx.eventBus().<JsonObject>request(Addresses.MODEL_DEFAULT, null).map(Message::body);
    Future.join(asked, model).onComplete(ignored -> {
      JsonObject store = new JsonObject().put("required", true).put("profile", opened.profile());
      JsonObject queueEntry = new JsonObject().put("required", true).put("running", workers.running());
      if (asked.succeeded()) {
        TaskQueue.Stats s = asked.result();
        stats = s;
        store.put("status", "up");
        JsonObject byPriority = new JsonObject();
        Map<Priority, TaskQueue.Depth> depths = new EnumMap<>(Priority.class);
        depths.putAll(s.byPriority());
        depths.forEach((p, d) -> byPriority.put(p.label(), new JsonObject().put("waiting", d.waiting())
            .put("scheduled", d.scheduled()).put("oldest_age_seconds", d.oldestAgeSeconds())));
        queueEntry.put("status", "up").put("depth", s.waiting()).put("running_everywhere", s.running())
            .put("by_priority", byPriority);
      } else {
        store.put("status", "down").put("error", String.valueOf(asked.cause().getMessage()));
        queueEntry.put("status", "down");
      }
      // not required: tasks that name a model still run, but a task without one is refused
      String name = model.succeeded() ? model.result().getString("model") : null;
      JsonObject defaultModel = name == null
          ? new JsonObject().put("status", "unset").put("required", false)
              .put("hint", "tasks must name a model: set MODEL_NAME or default_model in conf/model_provider.yaml")
          : new JsonObject().put("status", "up").put("required", false).put("model", name)
              .put("source", model.result().getString("source"));
      message.reply(new Health(new JsonObject().put("store", store).put("queue", queueEntry).put("default_model", defaultModel)));
    });
  }
}
