package dev.switchboard.agent;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.ChatCall;
import dev.switchboard.bus.Failure;
import dev.switchboard.bus.TaskSubmission;
import dev.switchboard.bus.UpstreamReply;
import dev.switchboard.observe.LabelBounds;
import dev.switchboard.observe.Metrics;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * One agent run: the conversation's recent turns and what long-term memory recalls, then the
 * model, with the run's skills offered as OpenAI tools, in a loop held to budgets (model calls,
 * wall time, tokens). When one runs out the model is asked once more without tools and its answer
 * says which budget stopped it. It knows nothing of queues: the task workers call it, and so will
 * rules and conversations. Memory that cannot answer costs the run its context, never the run
 * itself; a skill that fails or throws is an error result for the model, never a failed run.
 * Each model and tool call is recorded in the run's {@link Trace} and each tool call in the
 * per-skill meters.
 */
public final class AgentRunner {

  private static final Logger LOG = Logger.getLogger(AgentRunner.class.getName());
  /** Default budget of model calls that may ask for tools. */
  public static final int DEFAULT_STEPS = 8;
  /** What one tool result may bring back into the prompt, in UTF-8 bytes. */
  public static final int MAX_RESULT_BYTES = 16 * 1024;
  private static final List<String> MEMORY_SKILLS = List.of("remember", "recall");

  /**
   * What to answer. {@code ref} names the run in logs and memory sources (e.g. {@code task:<id>});
   * {@code model} is the one to call (the caller has resolved the default); {@code skills}: the
   * skills to offer, null for the default (remember/recall when the job has memory scopes).
   */
  public record Job(String ref, String subject, String input, String model, TaskSubmission.Conversation conversation,
                    List<String> memoryScopes, List<String> skills) {

    public Job {
      memoryScopes = memoryScopes == null ? List.of() : List.copyOf(memoryScopes);
      skills = skills == null ? null : List.copyOf(new LinkedHashSet<>(skills));
    }

    public Job(String ref, String subject, String input, String model, TaskSubmission.Conversation conversation,
               List<String> memoryScopes) {
      this(ref, subject, input, model, conversation, memoryScopes, null);
    }
  }

  /**
   * Per-run limits: {@code steps} model calls that may ask for tools, {@code wall} time from the
   * start of the run, {@code tokens} (sum of {@code usage.total_tokens}; 0 = no limit).
   */
  public record Budgets(int steps, Duration wall, long tokens) {

    public Budgets {
      if (steps < 1) {
        throw new IllegalArgumentException("agent steps must be at least 1, got " + steps);
      }
      if (wall == null || wall.isNegative() || wall.isZero()) {
        throw new IllegalArgumentException("agent wall time must be positive, got " + wall);
      }
      if (tokens < 0) {
        throw new IllegalArgumentException("agent token budget must be 0 (none) or more, got " + tokens);
      }
    }
  }

  private final Vertx vertx;
  private final boolean memorySkills;
  private final Duration modelTimeout;
  private final SkillRegistry registry;
  private final Budgets budgets;
  private final Metrics metrics = Metrics.current();

  /**
   * {@code memorySkills}: offer remember/recall when a job has memory scopes; {@code modelTimeout}:
   * per model call. The class path's skills and the default budgets, whose wall time is nine
   * tenths of {@code modelTimeout}: the caller's own bound on the run (a task's
   * queue.task_timeout) must not end it before the loop has answered with what it has.
   */
  public AgentRunner(Vertx vertx, boolean memorySkills, Duration modelTimeout) {
    this(vertx, memorySkills, modelTimeout, AgentSettings.defaults().budgets(modelTimeout));
  }

  /** This gateway's skills, with {@code budgets} (from the {@code agent:} section, {@link AgentSettings#budgets}). */
  public AgentRunner(Vertx vertx, boolean memorySkills, Duration modelTimeout, Budgets budgets) {
    this(vertx, memorySkills, modelTimeout, SkillRegistry.of(vertx), budgets);
  }

  public AgentRunner(Vertx vertx, boolean memorySkills, Duration modelTimeout, SkillRegistry registry, Budgets budgets) {
    this.vertx = vertx;
    this.memorySkills = memorySkills;
    this.modelTimeout = modelTimeout;
    this.registry = registry;
    this.budgets = budgets;
  }

  /** The state of one run's loop; touched only from the run's context, one step at a time. */
  private static final class Run {
    final Job job;
    final List<String> skills;
    final Trace trace;
    final long startNanos = System.nanoTime();
    int steps;
    long tokens;

    Run(Job job, List<String> skills, Trace trace) {
      this.job = job;
      this.skills = skills;
      this.trace = trace;
    }
  }

  /** The model's answer to the job's input. */
  public Future<String> answer(Job job) {
    return answer(job, new Trace());
  }

  /** The model's answer to the job's input; each model and tool call is added to {@code trace} as it ends. */
  public Future<String> answer(Job job, Trace trace) {
    return Future.all(recall(job), history(job)).compose(context -> {
      JsonArray messages = new JsonArray();
      String recalled = context.resultAt(0);
      if (recalled != null) {
        messages.add(new JsonObject().put("role", "system").put("content", recalled));
      }
      messages.addAll(context.<JsonArray>resultAt(1)).add(question(job));
      JsonObject body = new JsonObject().put("model", job.model()).put("messages", messages);
      Run run = new Run(job, offered(job), trace);
      JsonArray tools = registry.tools(run.skills);
      if (!tools.isEmpty()) {
        body.put("tools", tools);
      }
      return ask(run, body, null);
    });
  }

  /** The skills this job may call: what it names (or the default), memory skills only with memory, known names only. */
  private List<String> offered(Job job) {
    boolean memory = memorySkills && !job.memoryScopes().isEmpty();
    List<String> wanted = job.skills() != null ? job.skills() : memory ? MEMORY_SKILLS : List.of();
    List<String> offered = new ArrayList<>();
    for (String name : wanted) {
      if (MEMORY_SKILLS.contains(name) && !memory) {
        continue;
      }
      if (registry.get(name) == null) {
        SkillRegistry.Entry listed = registry.entry(name);
        LOG.warning(job.ref() + " asks for skill '" + name + "', which " + (listed == null ? "does not exist"
            : "is " + listed.state().label() + " (" + listed.source().label() + " " + listed.origin() + ")") + "; not offered");
        continue;
      }
      offered.add(name);
    }
    return offered;
  }

  /** The question and the answer join the conversation; an answer is not lost because memory failed. */
  public Future<Void> remember(Job job, String answer) {
    if (job.conversation() == null) {
      return Future.succeededFuture();
    }
    JsonObject turns = new JsonObject().put("conversation", job.conversation().key())
        .put("turns", new JsonArray().add(question(job)).add(new JsonObject().put("role", "assistant").put("content", answer)));
    return vertx.eventBus().request(Addresses.MEMORY_REMEMBER, turns).<Void>mapEmpty()
        .recover(e -> {
          LOG.warning(job.ref() + " not remembered: " + e.getMessage());
          return Future.succeededFuture();
        });
  }

  /**
   * One model call; tool calls are answered and the model asked again until a budget runs out.
   * {@code stopped}: why tools are no longer offered (this is the last call), null while they are.
   */
  private Future<String> ask(Run run, JsonObject body, String stopped) {
    DeliveryOptions options = new DeliveryOptions().setSendTimeout(modelTimeout.toMillis());
    run.steps++;
    long started = System.nanoTime();
    String model = body.getString("model");
    return vertx.eventBus().<UpstreamReply>request(Addresses.MODEL_CHAT, ChatCall.internal(body, run.job.subject()), options)
        .onFailure(e -> run.trace.add(new Trace.ModelStep(model, null, 0, 0, 0, millisSince(started),
            Failure.from(e).status() + " " + Failure.from(e).getMessage())))
        .compose(reply -> {
          UpstreamReply upstream = reply.body();
          String answered = upstream.model() != null ? upstream.model() : model;
          JsonObject completion;
          JsonObject message;
          try {
            completion = upstream.body().toJsonObject();
            message = completion.getJsonArray("choices").getJsonObject(0).getJsonObject("message");
          } catch (RuntimeException e) {
            Failure malformed = Failure.badGateway("upstream_malformed", "the model's answer is not a chat completion");
            run.trace.add(new Trace.ModelStep(answered, upstream.provider(), 0, 0, 0, millisSince(started), malformed.getMessage()));
            return Future.failedFuture(malformed);
          }
          JsonObject usage = completion.getValue("usage") instanceof JsonObject u ? u : new JsonObject();
          run.trace.add(new Trace.ModelStep(answered, upstream.provider(), count(usage, "prompt_tokens"),
              count(usage, "completion_tokens"), count(usage, "total_tokens"), millisSince(started), null));
          run.tokens += count(usage, "total_tokens");
          JsonArray calls = message.getJsonArray("tool_calls");
          boolean wantsTools = calls != null && !calls.isEmpty();
          if (wantsTools && !body.containsKey("tools")) {
            // tools were not offered (or no longer are): this was the last call, whatever it asks for
            String content = message.getString("content");
            return content != null && !content.isBlank() ? Future.succeededFuture(withReason(content, stopped))
                : Future.failedFuture(Failure.badGateway("tool_loop", "the model kept calling tools instead of answering"));
          }
          if (wantsTools) {
            return runAll(run, calls).compose(results -> {
              JsonObject next = body.copy();
              next.getJsonArray("messages").add(message).addAll(results);
              Trace.Stopped exhausted = exhausted(run);
              if (exhausted != null) {
                // out of budget: ask once more without tools, so the model has to answer with what it has
                next.remove("tools");
                run.trace.add(exhausted);
              }
              return ask(run, next, exhausted == null ? null : exhausted.reason());
            });
          }
          String content = message.getString("content");
          return content == null
              ? Future.failedFuture(Failure.badGateway("empty_completion", "the model returned no message content"))
              : Future.succeededFuture(withReason(content, stopped));
        });
  }

  /** The budget that has run out, with the line the answer ends with; null while all last. */
  private Trace.Stopped exhausted(Run run) {
    if (run.steps >= budgets.steps()) {
      return new Trace.Stopped("steps", "(stopped: step budget of " + budgets.steps() + " used)");
    }
    if (System.nanoTime() - run.startNanos >= budgets.wall().toNanos()) {
      Duration wall = budgets.wall();
      return new Trace.Stopped("wall",
          "(stopped: time budget of " + (wall.toMillis() < 1_000 ? wall.toMillis() + "ms" : wall.toSeconds() + "s") + " used)");
    }
    if (budgets.tokens() > 0 && run.tokens >= budgets.tokens()) {
      return new Trace.Stopped("tokens", "(stopped: token budget of " + budgets.tokens() + " used, " + run.tokens + " spent)");
    }
    return null;
  }

  private static String withReason(String content, String stopped) {
    return stopped == null ? content : content + "\n\n" + stopped;
  }

  private static long count(JsonObject usage, String field) {
    return usage.getValue(field) instanceof Number n ? n.longValue() : 0;
  }

  private static long millisSince(long nanos) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - nanos);
  }

  private static String message(Throwable e) {
    return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
  }

  /**
   * The model's tool calls of one turn, run concurrently; one {@code tool} message per call, in
   * call order, and one trace step per call, in the same order.
   */
  private Future<JsonArray> runAll(Run run, JsonArray calls) {
    List<Future<JsonObject>> results = new ArrayList<>();
    List<Trace.ToolStep> steps = new ArrayList<>();
    for (Object o : calls) {
      JsonObject call = o instanceof JsonObject json ? json : new JsonObject();
      String name = call.getValue("function") instanceof JsonObject f && f.getValue("name") instanceof String s ? s : "";
      int at = steps.size();
      steps.add(null);
      long started = System.nanoTime();
      results.add(one(run, call).transform(ar -> {
        long nanos = System.nanoTime() - started;
        String content = ar.succeeded() ? ar.result() : "error: " + message(ar.cause());
        String sent = bounded(content);
        long size = ar.succeeded() && ar.result() != null ? ar.result().getBytes(StandardCharsets.UTF_8).length : 0;
        steps.set(at, new Trace.ToolStep(name, Trace.redacted(arguments(call)), size, TimeUnit.NANOSECONDS.toMillis(nanos),
            ar.succeeded() ? null : message(ar.cause()), !sent.equals(content)));
        // a name the run does not know is the model's word, not a label: it is counted as "other"
        metrics.skillCall(registry.get(name) != null ? name : LabelBounds.OTHER,
            ar.succeeded() ? "ok" : ar.cause() instanceof BudgetCut ? "timeout" : "error", nanos);
        return Future.succeededFuture(new JsonObject().put("role", "tool").put("tool_call_id", call.getString("id"))
            .put("content", sent));
      }));
    }
    return Future.all(results).map(all -> {
      JsonArray out = new JsonArray();
      for (Future<JsonObject> result : results) {
        out.add(result.result());
      }
      steps.forEach(run.trace::add);
      return out;
    });
  }

  /** The call's arguments as the model sent them; null when they are not a JSON object. */
  private static JsonObject arguments(JsonObject call) {
    Object raw = call.getValue("function") instanceof JsonObject f ? f.getValue("arguments") : null;
    try {
      return raw instanceof String text && !text.isBlank() ? new JsonObject(text) : new JsonObject();
    } catch (RuntimeException e) {
      return null;
    }
  }

  /** A skill cut by the run's wall budget. */
  private static final class BudgetCut extends RuntimeException {
    BudgetCut() {
      super("the skill did not answer within the run's time budget", null, false, false);
    }
  }

  /** One tool call: only a skill the run offers, with its time cut to what is left of the wall budget. */
  private Future<String> one(Run run, JsonObject call) {
    JsonObject function = call.getValue("function") instanceof JsonObject f ? f : new JsonObject();
    String name = function.getValue("name") instanceof String s ? s : "";
    Skill skill = run.skills.contains(name) ? registry.get(name) : null;
    if (skill == null) {
      return Future.failedFuture("no tool named '" + name + "'");
    }
    JsonObject args;
    try {
      Object raw = function.getValue("arguments");
      args = raw instanceof String text && !text.isBlank() ? new JsonObject(text) : new JsonObject();
    } catch (RuntimeException e) {
      return Future.failedFuture("the arguments are not a JSON object");
    }
    SkillCall skillCall = new SkillCall(args, run.job.memoryScopes(), run.job.ref(), vertx);
    Future<String> result;
    if (skill.blocking()) {
      result = vertx.executeBlocking(() -> skill.run(skillCall), false).compose(f -> f);
    } else {
      try {
        result = skill.run(skillCall);
      } catch (RuntimeException e) {
        LOG.warning(run.job.ref() + ": skill " + name + " threw " + e);
        result = Future.failedFuture(e);
      }
      if (result == null) {
        result = Future.failedFuture("the skill returned nothing");
      }
    }
    long left = budgets.wall().toNanos() - (System.nanoTime() - run.startNanos);
    // rounded up: a skill cut by the budget must find it used up, not a millisecond short of it
    return result.timeout(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left) + 1), TimeUnit.MILLISECONDS)
        .recover(e -> Future.failedFuture(e instanceof java.util.concurrent.TimeoutException ? new BudgetCut()
            : new IllegalStateException(e.getMessage() != null ? e.getMessage() : e.toString(), e)));
  }

  /** The text cut to {@link #MAX_RESULT_BYTES} UTF-8 bytes on a code point boundary, with a marker saying so. */
  static String bounded(String text) {
    if (text == null) {
      return "";
    }
    int bytes = 0;
    int i = 0;
    while (i < text.length()) {
      int cp = text.codePointAt(i);
      int size = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      if (bytes + size > MAX_RESULT_BYTES) {
        int total = text.getBytes(StandardCharsets.UTF_8).length;
        return text.substring(0, i) + "\n[result cut: " + bytes + " of " + total + " bytes shown]";
      }
      bytes += size;
      i += Character.charCount(cp);
    }
    return text;
  }

  /** What long-term memory recalls for the job, as a system message text; null when nothing (or memory is down). */
  private Future<String> recall(Job job) {
    if (job.memoryScopes().isEmpty()) {
      return Future.succeededFuture(null);
    }
    JsonObject ask = new JsonObject().put("q", job.input()).put("scopes", new JsonArray(new ArrayList<>(job.memoryScopes())));
    return vertx.eventBus().<JsonObject>request(Addresses.MEMORY_RECALL, ask)
        .map(m -> m.body().getString("prompt"))
        .recover(e -> {
          LOG.warning("no memories recalled for " + job.ref() + ": " + e.getMessage());
          return Future.succeededFuture(null);
        });
  }

  /** Recent turns of the job's conversation; none when it has none, or when memory cannot say. */
  private Future<JsonArray> history(Job job) {
    if (job.conversation() == null || job.conversation().turns() <= 0) {
      return Future.succeededFuture(new JsonArray());
    }
    // a turn is a question and its answer: two messages
    JsonObject ask = new JsonObject().put("conversation", job.conversation().key()).put("limit", 2 * job.conversation().turns());
    return vertx.eventBus().<JsonArray>request(Addresses.MEMORY_HISTORY, ask)
        .map(Message::body)
        .recover(e -> {
          LOG.warning("no history for " + job.ref() + ": " + e.getMessage());
          return Future.succeededFuture(new JsonArray());
        });
  }

  private static JsonObject question(Job job) {
    return new JsonObject().put("role", "user").put("content", job.input());
  }
}
