package dev.switchboard.task;

import dev.switchboard.agent.Skills;
import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.ChatCall;
import dev.switchboard.bus.Failure;
import dev.switchboard.bus.Health;
import dev.switchboard.bus.PushRequest;
import dev.switchboard.bus.TaskSubmission;
import dev.switchboard.bus.UpstreamReply;
import dev.switchboard.observe.Metrics;
import dev.switchboard.store.EmbeddedStore;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;

/**
 * The durable task queue of the embedded profile and its workers. A task is committed to the
 * store before it is acknowledged, so the in-memory line is only an index: on start-up it is
 * rebuilt from the store, with tasks that were running when the process died put back in line.
 */
public final class TaskVerticle extends VerticleBase {

  private static final java.util.logging.Logger LOG = java.util.logging.Logger.getLogger(TaskVerticle.class.getName());

  private final QueueSettings settings;
  private final Path dataDir;
  private final String defaultModel;
  private final PriorityQueue<TaskStore.Ticket> line = new PriorityQueue<>(
      Comparator.comparingInt(TaskStore.Ticket::priority).thenComparingLong(TaskStore.Ticket::seq));
  private TaskStore tasks;
  private Metrics metrics;
  private int running;
  /** Tasks accepted with a delay that has not run out yet. */
  private int delayed;

  /**
   * {@code memorySkills}: offer the model the remember/recall tools when a task has memory scopes.
   * {@code noProvider}: why no model can answer (no provider configured), or null when one can;
   * such tasks are refused at submission instead of failing three attempts later.
   */
  public TaskVerticle(QueueSettings settings, Path dataDir, String defaultModel, boolean memorySkills, String noProvider) {
    this.settings = settings;
    this.dataDir = dataDir;
    this.defaultModel = defaultModel;
    this.skills = memorySkills;
    this.noProvider = noProvider;
  }

  private final boolean skills;
  private final String noProvider;

  @Override
  public Future<?> start() {
    metrics = Metrics.current();
    // read at scrape time from another thread: sizes may be a moment old, which is fine for a gauge
    metrics.gauge("switchboard.queue.depth", "Tasks waiting to run", this, v -> v.line.size());
    metrics.gauge("switchboard.queue.running", "Tasks running now", this, v -> v.running);
    metrics.gauge("switchboard.queue.oldest.age.seconds", "Age of the oldest waiting task", this, TaskVerticle::oldestAgeSeconds);
    var bus = vertx.eventBus();
    return EmbeddedStore.open(vertx, dataDir)
        .map(TaskStore::new)
        .compose(store -> {
          tasks = store;
          return store.init().compose(v -> store.recover());
        })
        .compose(pending -> {
          pending.forEach(this::enqueue);
          if (!pending.isEmpty()) {
            LOG.info("resuming " + pending.size() + " queued task(s) from the store");
          }
          return Future.all(
              bus.<TaskSubmission>localConsumer(Addresses.TASK_SUBMIT, this::submit).completion(),
              bus.<String>localConsumer(Addresses.TASK_GET, this::get).completion(),
              bus.<Void>localConsumer(Addresses.TASK_HEALTH, this::health).completion());
        })
        .onSuccess(v -> pump());
  }

  @Override
  public Future<?> stop() {
    return tasks == null ? Future.succeededFuture() : tasks.store().close();
  }

  /** Checks what can be checked now (a model to use, usable channels), stores, then acknowledges. */
  /** Read from the scrape thread while the loop may change the line: a torn copy reads as "unknown". */
  private double oldestAgeSeconds() {
    long oldest = Long.MAX_VALUE;
    try {
      for (TaskStore.Ticket t : line.toArray(new TaskStore.Ticket[0])) {
        if (t != null) {
          oldest = Math.min(oldest, t.createdAt());
        }
      }
    } catch (RuntimeException torn) {
      return Double.NaN;
    }
    return oldest == Long.MAX_VALUE ? 0 : (System.currentTimeMillis() - oldest) / 1000.0;
  }

  private void submit(Message<TaskSubmission> message) {
    TaskSubmission s = message.body();
    if (noProvider != null) {
      Failure.reply(message, Failure.unavailable("no_provider", "no model provider is configured, so no task can run: " + noProvider));
      return;
    }
    if ((s.model() == null || s.model().isEmpty()) && (defaultModel == null || defaultModel.isEmpty())) {
      Failure.reply(message, Failure.badRequest("model_required",
          "the task names no model and conf/model_provider.yaml sets no default_model (MODEL_NAME)"));
      return;
    }
    List<Future<Object>> checks = new ArrayList<>();
    s.channels().forEach(target -> checks.add(vertx.eventBus().request(Addresses.CHANNEL_CHECK, target).mapEmpty()));
    Future.all(checks)
        .compose(ok -> tasks.insert(s).recover(e -> {
          LOG.warning("task not stored: " + e);
          return Future.failedFuture(Failure.unavailable("store_unavailable", "the task store is unavailable: " + e.getMessage()));
        }))
        .onSuccess(inserted -> {
          JsonObject task = inserted.task();
          message.reply(new JsonObject().put("id", task.getString("id")).put("status", task.getString("status")));
          if (inserted.ticket() != null) {
            enqueue(inserted.ticket());
            pump();
          }
        })
        .onFailure(e -> Failure.reply(message, e));
  }

  /** The task and, from the channel component, its deliveries. */
  private void get(Message<String> message) {
    tasks.view(message.body())
        .compose(view -> view.isEmpty() ? Future.succeededFuture(view)
            : vertx.eventBus().<JsonArray>request(Addresses.CHANNEL_TASK_DELIVERIES, message.body())
                .map(reply -> java.util.Optional.of(view.get().put("deliveries", reply.body()))))
        .onComplete(ar -> {
      if (ar.failed()) {
        Failure.reply(message, Failure.unavailable("store_unavailable", "the task store is unavailable: " + ar.cause().getMessage()));
      } else if (ar.result().isEmpty()) {
        Failure.reply(message, Failure.notFound("task_not_found", "no task with id '" + message.body() + "'"));
      } else {
        message.reply(ar.result().get());
      }
    });
  }

  private void health(Message<Void> message) {
    JsonObject queue = new JsonObject().put("required", true).put("depth", line.size()).put("running", running)
        .put("delayed", delayed);
    tasks.store().ping().compose(ok -> tasks.countsByStatus()).onComplete(ar -> {
      JsonObject store = new JsonObject().put("required", true).put("profile", "embedded");
      if (ar.succeeded()) {
        store.put("status", "up");
        queue.put("status", "up").put("by_status", ar.result());
      } else {
        store.put("status", "down").put("error", String.valueOf(ar.cause().getMessage()));
        queue.put("status", "down");
      }
      // not required: tasks that name a model still run, but a task without one is refused
      JsonObject model = defaultModel == null || defaultModel.isEmpty()
          ? new JsonObject().put("status", "unset").put("required", false)
              .put("hint", "tasks must name a model: set MODEL_NAME or default_model in conf/model_provider.yaml")
          : new JsonObject().put("status", "up").put("required", false).put("model", defaultModel);
      message.reply(new Health(new JsonObject().put("store", store).put("queue", queue).put("default_model", model)));
    });
  }

  /** Into the line now, or when its delay is over. */
  private void enqueue(TaskStore.Ticket ticket) {
    long wait = ticket.runAt() - System.currentTimeMillis();
    if (wait <= 0) {
      line.add(ticket);
      return;
    }
    delayed++;
    vertx.setTimer(wait, id -> {
      delayed--;
      line.add(ticket);
      pump();
    });
  }

  /** Starts queued tasks while workers are free. */
  private void pump() {
    while (running < settings.workers() && !line.isEmpty()) {
      TaskStore.Ticket ticket = line.poll();
      running++;
      run(ticket).onComplete(ar -> {
        running--;
        if (ar.failed()) {
          // the store failed us mid-run; the row is still queued or running, so try it again later
          LOG.warning("task " + ticket.id() + " could not be processed, retrying: " + ar.cause());
          vertx.setTimer(settings.retryBackoff().toMillis(), id -> {
            tasks.requeue(ticket.id()).onComplete(v -> {
              line.add(ticket);
              pump();
            });
          });
        }
        pump();
      });
    }
  }

  private Future<Void> run(TaskStore.Ticket ticket) {
    return tasks.start(ticket.id()).compose(started -> {
      if (started.isEmpty()) {
        return Future.succeededFuture();
      }
      TaskStore.Task task = started.get();
      return complete(task).transform(ar -> ar.succeeded()
          ? deliverAndFinish(task, ar.result())
          : onModelFailure(task, Failure.from(ar.cause())));
    });
  }

  /**
   * The model's answer to the task's input: after what long-term memory recalls for it and the
   * conversation's recent turns; with the remember/recall skills on offer when the task has
   * memory scopes.
   */
  private Future<String> complete(TaskStore.Task task) {
    String model = task.model() != null && !task.model().isEmpty() ? task.model() : defaultModel;
    if (model == null || model.isEmpty()) {
      return Future.failedFuture(Failure.badRequest("model_required",
          "the task names no model and conf/model_provider.yaml sets no default_model"));
    }
    JsonObject question = question(task);
    return Future.all(recall(task), history(task))
        .compose(context -> {
          JsonArray messages = new JsonArray();
          String recalled = context.resultAt(0);
          if (recalled != null) {
            messages.add(new JsonObject().put("role", "system").put("content", recalled));
          }
          messages.addAll(context.<JsonArray>resultAt(1)).add(question);
          JsonObject body = new JsonObject().put("model", model).put("messages", messages);
          boolean tools = skills && !task.memoryScopes().isEmpty();
          if (tools) {
            body.put("tools", Skills.TOOLS);
          }
          return ask(task, body, tools ? Skills.MAX_ROUNDS : 0);
        });
  }

  /** One model call; tool calls are answered and the model asked again, {@code rounds} times at most. */
  private Future<String> ask(TaskStore.Task task, JsonObject body, int rounds) {
    DeliveryOptions options = new DeliveryOptions().setSendTimeout(settings.taskTimeout().toMillis());
    return vertx.eventBus().<UpstreamReply>request(Addresses.MODEL_CHAT, new ChatCall(body, task.subject(), null), options)
        .compose(reply -> {
          JsonObject message;
          try {
            message = reply.body().body().toJsonObject().getJsonArray("choices").getJsonObject(0).getJsonObject("message");
          } catch (RuntimeException e) {
            return Future.failedFuture(Failure.badGateway("upstream_malformed", "the model's answer is not a chat completion"));
          }
          JsonArray calls = message.getJsonArray("tool_calls");
          if (calls != null && !calls.isEmpty() && !body.containsKey("tools")) {
            // tools were not offered (or no longer are): this was the last call, whatever it asks for
            String content = message.getString("content");
            return content != null && !content.isBlank() ? Future.succeededFuture(content)
                : Future.failedFuture(Failure.badGateway("tool_loop", "the model kept calling tools instead of answering"));
          }
          if (calls != null && !calls.isEmpty()) {
            if (rounds <= 0) {
              // out of rounds: ask once more without tools, so the model has to answer
              JsonObject last = body.copy();
              last.remove("tools");
              last.getJsonArray("messages").add(message).addAll(Skills.refusals(calls));
              return ask(task, last, 0);
            }
            return Skills.run(vertx, calls, task.memoryScopes(), "task:" + task.id()).compose(results -> {
              JsonObject next = body.copy();
              next.getJsonArray("messages").add(message).addAll(results);
              return ask(task, next, rounds - 1);
            });
          }
          String content = message.getString("content");
          return content == null
              ? Future.failedFuture(Failure.badGateway("empty_completion", "the model returned no message content"))
              : Future.succeededFuture(content);
        });
  }

  /** What long-term memory recalls for the task, as a system message text; null when nothing (or memory is down). */
  private Future<String> recall(TaskStore.Task task) {
    if (task.memoryScopes().isEmpty()) {
      return Future.succeededFuture(null);
    }
    JsonObject ask = new JsonObject().put("q", task.input()).put("scopes", new JsonArray(new ArrayList<>(task.memoryScopes())));
    return vertx.eventBus().<JsonObject>request(Addresses.MEMORY_RECALL, ask)
        .map(m -> m.body().getString("prompt"))
        .recover(e -> {
          LOG.warning("no memories recalled for task " + task.id() + ": " + e.getMessage());
          return Future.succeededFuture(null);
        });
  }

  private static JsonObject question(TaskStore.Task task) {
    return new JsonObject().put("role", "user").put("content", task.input());
  }

  /** Recent turns of the task's conversation; none when it has none, or when memory cannot say. */
  private Future<JsonArray> history(TaskStore.Task task) {
    if (task.conversation() == null || task.conversation().turns() <= 0) {
      return Future.succeededFuture(new JsonArray());
    }
    // a turn is a question and its answer: two messages
    JsonObject ask = new JsonObject().put("conversation", task.conversation().key()).put("limit", 2 * task.conversation().turns());
    return vertx.eventBus().<JsonArray>request(Addresses.MEMORY_HISTORY, ask)
        .map(Message::body)
        .recover(e -> {
          LOG.warning("no history for task " + task.id() + ": " + e.getMessage());
          return Future.succeededFuture(new JsonArray());
        });
  }

  /** The question and the answer join the conversation; an answer is not lost because memory failed. */
  private Future<Void> remember(TaskStore.Task task, String answer) {
    JsonObject question = question(task);
    if (task.conversation() == null) {
      return Future.succeededFuture();
    }
    JsonObject turns = new JsonObject().put("conversation", task.conversation().key())
        .put("turns", new JsonArray().add(question).add(new JsonObject().put("role", "assistant").put("content", answer)));
    return vertx.eventBus().request(Addresses.MEMORY_REMEMBER, turns).<Void>mapEmpty()
        .recover(e -> {
          LOG.warning("task " + task.id() + " not remembered: " + e.getMessage());
          return Future.succeededFuture();
        });
  }

  /**
   * Hands the result to the channel component (which records each push before answering, once per
   * task and bot), then marks the task succeeded. A crash in between runs the task again, but
   * pushes nothing twice.
   */
  private Future<Void> deliverAndFinish(TaskStore.Task task, String result) {
    List<Future<Object>> recorded = new ArrayList<>();
    for (TaskSubmission.Target target : task.channels()) {
      recorded.add(vertx.eventBus()
          .request(Addresses.CHANNEL_PUSH, new PushRequest(target.type(), target.bot(), result, task.id(), target.address(), target.message()))
          .mapEmpty());
    }
    // remembered once the task is done for good, so that a run repeated after a crash is not
    return Future.all(recorded)
        .compose(ok -> tasks.finish(task.id(), TaskStore.SUCCEEDED, result, null))
        .onSuccess(v -> metrics.task(TaskStore.SUCCEEDED))
        .compose(v -> remember(task, result));
  }

  /** Upstream trouble (5xx, timeouts, rate limits) is retried with backoff; a bad request is final. */
  private Future<Void> onModelFailure(TaskStore.Task task, Failure failure) {
    String error = failure.getMessage();
    if (failure.retryable() && task.attempts() < settings.maxAttempts()) {
      metrics.task("retried");
      long delay = settings.retryBackoff().toMillis() * (1L << Math.min(10, task.attempts() - 1));
      return tasks.retryLater(task.id(), error).onSuccess(v -> vertx.setTimer(Math.max(1, delay), id -> {
        line.add(new TaskStore.Ticket(task.id(), task.priority(), task.seq(), task.createdAt(), 0));
        pump();
      }));
    }
    return tasks.finish(task.id(), TaskStore.FAILED, null, error).onSuccess(v -> metrics.task(TaskStore.FAILED));
  }
}
