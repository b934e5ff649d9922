package dev.switchboard.agent;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.ChatCall;
import dev.switchboard.bus.Failure;
import dev.switchboard.bus.TaskSubmission;
import dev.switchboard.bus.UpstreamReply;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;

/**
 * One agent run: the conversation's recent turns and what long-term memory recalls, then the
 * model, with the remember/recall skills on offer when the run has memory scopes, for a few tool
 * rounds at most. It knows nothing of queues: the task workers call it, and so will rules and
 * conversations. Memory that cannot answer costs the run its context, never the run itself.
 */
public final class AgentRunner {

  private static final Logger LOG = Logger.getLogger(AgentRunner.class.getName());

  /**
   * What to answer. {@code ref} names the run in logs and memory sources (e.g. {@code task:<id>});
   * {@code model} is the one to call (the caller has resolved the default).
   */
  public record Job(String ref, String subject, String input, String model, TaskSubmission.Conversation conversation,
                    List<String> memoryScopes) {

    public Job {
      memoryScopes = memoryScopes == null ? List.of() : List.copyOf(memoryScopes);
    }
  }

  private final Vertx vertx;
  private final boolean memorySkills;
  private final Duration modelTimeout;

  /** {@code memorySkills}: offer remember/recall when a job has memory scopes; {@code modelTimeout}: per model call. */
  public AgentRunner(Vertx vertx, boolean memorySkills, Duration modelTimeout) {
    this.vertx = vertx;
    this.memorySkills = memorySkills;
    this.modelTimeout = modelTimeout;
  }

  /** The model's answer to the job's input. */
  public Future<String> answer(Job job) {
    return Future.all(recall(job), history(job)).compose(context -> {
      JsonArray messages = new JsonArray();
      String recalled = context.resultAt(0);
      if (recalled != null) {
        messages.add(new JsonObject().put("role", "system").put("content", recalled));
      }
      messages.addAll(context.<JsonArray>resultAt(1)).add(question(job));
      JsonObject body = new JsonObject().put("model", job.model()).put("messages", messages);
      boolean tools = memorySkills && !job.memoryScopes().isEmpty();
      if (tools) {
        body.put("tools", Skills.TOOLS);
      }
      return ask(job, body, tools ? Skills.MAX_ROUNDS : 0);
    });
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

  /** One model call; tool calls are answered and the model asked again, {@code rounds} times at most. */
  private Future<String> ask(Job job, JsonObject body, int rounds) {
    DeliveryOptions options = new DeliveryOptions().setSendTimeout(modelTimeout.toMillis());
    return vertx.eventBus().<UpstreamReply>request(Addresses.MODEL_CHAT, new ChatCall(body, job.subject(), null), options)
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
              return ask(job, last, 0);
            }
            return Skills.run(vertx, calls, job.memoryScopes(), job.ref()).compose(results -> {
              JsonObject next = body.copy();
              next.getJsonArray("messages").add(message).addAll(results);
              return ask(job, next, rounds - 1);
            });
          }
          String content = message.getString("content");
          return content == null
              ? Future.failedFuture(Failure.badGateway("empty_completion", "the model returned no message content"))
              : Future.succeededFuture(content);
        });
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
