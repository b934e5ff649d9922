package dev.switchboard.task;

import dev.switchboard.agent.AgentRunner;
import dev.switchboard.agent.Trace;
import dev.switchboard.audit.Audit;
import dev.switchboard.audit.AuditEvent;
import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.Failure;
import dev.switchboard.bus.PushRequest;
import dev.switchboard.bus.TaskSubmission;
import dev.switchboard.observe.Metrics;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Runs one leased task to its outcome: the agent's answer (unless an earlier run stored one), the
 * result stored, then pushed, then the task completed. Every change goes through the lease, so a
 * run whose lease was lost or whose task was cancelled stops without pushing anything.
 *
 * <p>Failures: upstream trouble (5xx, timeouts, rate limits) and a store or channel that is down
 * are retried at a time chosen by exponential backoff with full jitter while attempts are left; a
 * bad request (unknown model, say) fails the task at once.
 */
final class TaskRunner {

  private static final Logger LOG = Logger.getLogger(TaskRunner.class.getName());
  /** Below the 2 s a submission may take, so that a pending list still leaves time to store. */
  static final long SUBMIT_MODEL_WAIT_MS = 1_000;
  /** A run may wait longer for the start-up model lists: its lease is extended meanwhile. */
  private static final long RUN_MODEL_WAIT_MS = 10_000;

  /** The run ended without settling because the task is no longer this run's. */
  private static final class Lost extends RuntimeException {
    final TaskQueue.Fenced why;

    Lost(TaskQueue.Fenced why) {
      super(why.name(), null, false, false);
      this.why = why;
    }
  }

  private final Vertx vertx;
  private final TaskQueue queue;
  private final AgentRunner agent;
  private final QueueSettings settings;
  private final Metrics metrics;

  TaskRunner(Vertx vertx, TaskQueue queue, AgentRunner agent, QueueSettings settings, Metrics metrics) {
    this.vertx = vertx;
    this.queue = queue;
    this.agent = agent;
    this.settings = settings;
    this.metrics = metrics;
  }

  /** Completes when the lease is settled (or found lost); never fails. */
  Future<Void> run(TaskQueue.Lease lease) {
    long started = System.nanoTime();
    TaskQueue.Task task = lease.task();
    TaskSpec spec = TaskSpec.from(task.spec());
    String refused = task.spec().getString("refused");
    if (refused != null) {
      // a platform's message that could not become a task: stored so that it shows, failed at once
      return queue.fail(lease, refused, 0).<Void>mapEmpty().onSuccess(v -> metrics.task(TaskQueue.FAILED))
          .recover(e -> Future.succeededFuture());
    }
    Future<AgentRunner.Job> job = model(spec).map(model -> new AgentRunner.Job("task:" + task.id(), task.subject(),
        spec.input(), model, spec.conversation(), spec.memoryScopes(), spec.skills()));
    // a result stored by an earlier run is final: the model is not asked again, only the pushes are
    // finished, and the trace of the run that asked stays
    Trace trace = task.result() != null ? null : new Trace();
    Future<String> result = trace == null
        ? Future.succeededFuture(task.result())
        : job.compose(j -> agent.answer(j, trace).timeout(settings.taskTimeout().toMillis(), TimeUnit.MILLISECONDS))
            .compose(answer -> fenced(queue.saveResult(lease, answer, trace.json())).map(answer));
    return result
        // a cancel that came while the answer was being stored must still stop the pushes
        .compose(answer -> fenced(queue.extend(lease, settings.visibilityTimeout())).map(answer))
        .compose(answer -> deliver(task.id(), spec, answer)
            .compose(v -> fenced(queue.complete(lease)))
            .onSuccess(v -> {
              metrics.task(TaskQueue.SUCCEEDED);
              metrics.taskRun(TaskQueue.SUCCEEDED, null, System.nanoTime() - started);
              ran(task, TaskQueue.SUCCEEDED, null, System.nanoTime() - started);
              raise(task, spec, TaskQueue.SUCCEEDED, answer, null);
            })
            // remembered once the task is done for good, so that a repeated run does not remember twice
            .compose(v -> job.compose(j -> agent.remember(j, answer))))
        .recover(e -> failed(lease, e, started, trace));
  }

  /** The task_run event line: which run (attempt) of which task ended how. */
  private static void ran(TaskQueue.Task task, String outcome, String reason, long tookNanos) {
    dev.switchboard.observe.EventLog.event("task_run").with("task_id", task.id()).with("outcome", outcome)
        .with("reason", reason).with("attempt", task.attempts()).with("ms", tookNanos / 1_000_000).log();
  }

  /** A task that finished for good is an event for the rules ({@code on: {task: succeeded|failed}}). */
  private void raise(TaskQueue.Task task, TaskSpec spec, String status, String result, String error) {
    Audit.record(vertx, AuditEvent.of(task.subject(), "task." + status, task.id(), error == null ? "ok" : "failed").size("attempts", task.attempts()).size("result_chars", result == null ? 0 : result.length()));
    JsonObject event = new JsonObject().put("id", "task:" + task.id() + ":" + status).put("type", "task")
        .put("time", java.time.Instant.now().toString())
        .put("task", new JsonObject().put("id", task.id()).put("status", status).put("result", result).put("error", error)
            .put("input", spec.input())
            .put("rule", spec.origin() == null ? null : spec.origin().rule())
            .put("event", spec.origin() == null ? null : spec.origin().event()));
    vertx.eventBus().publish(Addresses.EVENTS_RAISE, event);
    vertx.eventBus().publish(Addresses.TASK_EVENTS, new JsonObject().put("id", task.id()).put("status", status)
        .put("result", result).put("error", error).put("time", event.getString("time")));
  }

  /**
   * The task's own model, else the default one, asked now (the provider's list may have changed).
   * A task was accepted because a model could be found, or was about to be: none now is a
   * passing condition (a list that failed to read, or is being read), retried like an upstream
   * failure until the task's attempts are used up.
   */
  private Future<String> model(TaskSpec spec) {
    if (spec.model() != null && !spec.model().isEmpty()) {
      return Future.succeededFuture(spec.model());
    }
    return defaultModel(vertx, RUN_MODEL_WAIT_MS).compose(d -> d.getString("model") != null ? Future.succeededFuture(d.getString("model"))
        : Future.failedFuture(Failure.unavailable("model_unavailable",
            "the task names no model and no default can be found now (" + (Boolean.TRUE.equals(d.getBoolean("pending"))
                ? "the providers' model lists have not answered yet" : "no provider lists a model")
                + "): set MODEL_NAME (default_model in conf/model_provider.yaml)")));
  }

  /** model.default's answer, after waiting a moment for the providers' model lists at start-up. */
  static Future<JsonObject> defaultModel(Vertx vertx, long waitMs) {
    return vertx.eventBus().<JsonObject>request(Addresses.MODEL_DEFAULT, new JsonObject().put("wait_ms", waitMs),
            new io.vertx.core.eventbus.DeliveryOptions().setSendTimeout(waitMs + 5_000))
        .map(m -> m.body());
  }

  /**
   * Hands the result to the channel component, which records each push (once per task and bot,
   * in shared storage) before answering: a run repeated after a crash pushes nothing twice.
   */
  private Future<Void> deliver(String taskId, TaskSpec spec, String result) {
    List<Future<Object>> recorded = new ArrayList<>();
    for (TaskSubmission.Target target : spec.channels()) {
      recorded.add(vertx.eventBus()
          .request(Addresses.CHANNEL_PUSH, new PushRequest(target.type(), target.bot(), result, taskId, target.address(),
              target.message()))
          .mapEmpty());
    }
    return Future.all(recorded).mapEmpty();
  }

  private static <T> Future<Void> fenced(Future<TaskQueue.Fenced> change) {
    return change.compose(f -> f == TaskQueue.Fenced.OK ? Future.succeededFuture() : Future.failedFuture(new Lost(f)));
  }

  /** {@code trace}: what this run's agent did, stored with the failure (an attempt retried shows its last one); null when it did not run. */
  private Future<Void> failed(TaskQueue.Lease lease, Throwable e, long started, Trace trace) {
    TaskQueue.Task task = lease.task();
    long took = System.nanoTime() - started;
    if (e instanceof Lost lost) {
      String outcome = lost.why == TaskQueue.Fenced.CANCELLED ? TaskQueue.CANCELLED : "lease_lost";
      LOG.fine(() -> "task " + task.id() + ": " + outcome + ", nothing more done by this run");
      metrics.taskRun(outcome, null, took);
      ran(task, outcome, null, took);
      return Future.succeededFuture();
    }
    Failure failure = e instanceof java.util.concurrent.TimeoutException
        ? Failure.timeout("the task did not finish within queue.task_timeout (" + settings.taskTimeout().toSeconds() + "s)")
        : Failure.from(e);
    String reason = reason(failure);
    boolean again = failure.retryable() && task.attempts() < task.maxAttempts();
    long retryAt = again ? System.currentTimeMillis() + backoff(task.attempts()) : 0;
    String outcome = again ? "retried" : TaskQueue.FAILED;
    return queue.fail(lease, failure.getMessage(), retryAt, trace == null ? null : trace.json())
        .onSuccess(f -> {
          if (f == TaskQueue.Fenced.OK) {
            metrics.task(outcome);
            metrics.taskRun(outcome, reason, took);
            ran(task, outcome, reason, took);
            if (!again) {
              raise(task, TaskSpec.from(task.spec()), TaskQueue.FAILED, null, failure.getMessage());
            }
          }
        })
        .<Void>mapEmpty()
        .recover(storeDown -> {
          // the lease runs out and the task is taken up again: nothing is lost, only delayed
          LOG.log(Level.WARNING, "task " + task.id() + " failed (" + failure.getMessage() + ") and that could not be stored: "
              + storeDown.getMessage() + "; it runs again when its lease expires");
          return Future.succeededFuture();
        });
  }

  /**
   * Full jitter (AWS's "exponential backoff and jitter"): anywhere from now up to the delay that
   * doubles with each attempt, so tasks that failed together do not retry together.
   */
  private long backoff(int attempts) {
    return ThreadLocalRandom.current().nextLong(backoffCeiling(settings, attempts) + 1);
  }

  /** The longest a retry after {@code attempts} runs may wait: retry_backoff doubled per attempt, up to retry_backoff_max. */
  static long backoffCeiling(QueueSettings settings, int attempts) {
    long base = Math.max(1, settings.retryBackoff().toMillis());
    long cap = Math.max(base, settings.retryBackoffMax().toMillis());
    return Math.min(cap, base << Math.min(20, Math.max(0, attempts - 1)));
  }

  /** A coarse, bounded class of a failure for the metrics' label: never a client's or upstream's words. */
  static String reason(Failure f) {
    int s = f.status();
    if (s == 504 || s == 408) {
      return "timeout";
    }
    if (s == 429) {
      return "rate_limited";
    }
    if (s == 502 || s == 503) {
      return "upstream";
    }
    if (s >= 400 && s < 500) {
      return "rejected";
    }
    return "internal";
  }
}
