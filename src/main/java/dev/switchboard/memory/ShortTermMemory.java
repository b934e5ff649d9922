package dev.switchboard.memory;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.ChatCall;
import dev.switchboard.bus.UpstreamReply;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.HashSet;
import java.util.Set;
import java.util.logging.Logger;

/**
 * The conversation window: the last turns verbatim, bounded by a turn count and an approximate
 * token budget, and a running summary that stands for the turns pushed out. Turns leave the
 * window only once the model has folded them into the summary; if the model cannot be asked,
 * they stay (up to twice the window) and the next turn tries again, so nothing vanishes silently.
 */
final class ShortTermMemory {

  private static final Logger LOG = Logger.getLogger(ShortTermMemory.class.getName());
  static final String SUMMARY_PREFIX = "Summary of the earlier conversation: ";
  private static final String SUMMARY_INSTRUCTION = """
      You keep the running summary of a chat. Rewrite the summary so that it also covers the new \
      messages: keep names, decisions, numbers, dates, open questions and preferences; drop small talk. \
      Answer with the summary only, in the language of the conversation, at most 200 words.""";

  private final Vertx vertx;
  private final ShortTermStore store;
  private final MemorySettings settings;
  /** Model that writes summaries; empty when summaries are off. */
  private final String summaryModel;
  private final Set<String> compacting = new HashSet<>();
  /** Scopes that got new turns while being trimmed: trimmed once more afterwards. */
  private final Set<String> again = new HashSet<>();

  ShortTermMemory(Vertx vertx, ShortTermStore store, MemorySettings settings, String defaultModel) {
    this.vertx = vertx;
    this.store = store;
    this.settings = settings;
    String model = settings.summaryModel().isEmpty() ? defaultModel : settings.summaryModel();
    this.summaryModel = settings.summarize() && model != null ? model : "";
  }

  ShortTermStore store() {
    return store;
  }

  boolean summarizing() {
    return !summaryModel.isEmpty();
  }

  /** The window as chat messages: the summary (as a system message) first, then at most {@code limit} turns. */
  Future<JsonArray> history(String scope, int limit) {
    return store.load(scope).map(w -> {
      JsonArray out = new JsonArray();
      if (!w.summary().isEmpty()) {
        out.add(ShortTermStore.turn("system", SUMMARY_PREFIX + w.summary()));
      }
      int from = Math.max(0, w.turns().size() - limit);
      for (int i = from; i < w.turns().size(); i++) {
        out.add(w.turns().getValue(i));
      }
      return out;
    });
  }

  /** Stores the turns; the window is trimmed afterwards, in the background. */
  Future<Void> remember(String scope, JsonArray turns) {
    return store.append(scope, turns, settings.ttl()).map(count -> {
      if (count > 2) { // the token budget may overflow before the turn count does
        trim(scope);
      }
      return null;
    });
  }

  /** Folds the turns that no longer fit into the summary; one trim per scope at a time. */
  Future<Void> trim(String scope) {
    if (!compacting.add(scope)) {
      again.add(scope);
      return Future.succeededFuture();
    }
    return store.load(scope)
        .compose(w -> {
          int drop = overflow(w.turns());
          if (drop == 0) {
            return Future.<Void>succeededFuture();
          }
          if (!summarizing()) {
            return store.compact(scope, drop, w.summary(), settings.ttl());
          }
          JsonArray dropped = new JsonArray(w.turns().getList().subList(0, drop));
          return summarize(w.summary(), dropped)
              .compose(summary -> store.compact(scope, drop, summary, settings.ttl()))
              .recover(e -> {
                if (w.turns().size() >= 4 * settings.maxTurns()) {
                  LOG.warning("conversation " + scope + ": summary failed (" + e.getMessage() + ") and the window is twice "
                      + "its size; dropping the " + drop + " oldest turns without a summary");
                  return store.compact(scope, drop, w.summary(), settings.ttl());
                }
                LOG.info("conversation " + scope + ": summary failed (" + e.getMessage() + "); turns kept, retried on the next turn");
                return Future.succeededFuture();
              });
        })
        .eventually(() -> {
          compacting.remove(scope);
          if (again.remove(scope)) {
            trim(scope);
          }
          return Future.succeededFuture();
        });
  }

  /** How many of the oldest turns must go so that the rest fit both budgets (the newest two always stay). */
  int overflow(JsonArray turns) {
    int n = turns.size();
    int tokens = 0;
    int keep = 0;
    for (int i = n - 1; i >= 0; i--) {
      int t = tokens(turns.getJsonObject(i).getString("content", ""));
      // a turn is a question and its answer: two messages
      if (keep >= 2 && (keep + 1 > 2 * settings.maxTurns() || tokens + t > settings.maxTokens())) {
        break;
      }
      tokens += t;
      keep++;
    }
    return n - keep;
  }

  /** About one token per CJK character and one per four other characters, plus a little per message. */
  static int tokens(String text) {
    int cjk = 0;
    int other = 0;
    for (int i = 0; i < text.length(); i++) {
      char ch = text.charAt(i);
      if (Character.UnicodeScript.of(ch) == Character.UnicodeScript.HAN || ch >= 0x3000 && ch <= 0x30FF) {
        cjk++;
      } else {
        other++;
      }
    }
    return 4 + cjk + (other + 3) / 4;
  }

  private Future<String> summarize(String previous, JsonArray dropped) {
    StringBuilder text = new StringBuilder();
    if (!previous.isEmpty()) {
      text.append("Summary so far:\n").append(previous).append("\n\n");
    }
    text.append("New messages:\n");
    for (Object o : dropped) {
      JsonObject t = (JsonObject) o;
      text.append(t.getString("role")).append(": ").append(t.getString("content")).append('\n');
    }
    JsonObject body = new JsonObject()
        .put("model", summaryModel)
        .put("messages", new JsonArray()
            .add(ShortTermStore.turn("system", SUMMARY_INSTRUCTION))
            .add(ShortTermStore.turn("user", text.toString())))
        .put("temperature", 0.2);
    return vertx.eventBus().<UpstreamReply>request(Addresses.MODEL_CHAT, ChatCall.internal(body, "switchboard:memory"),
            new DeliveryOptions().setSendTimeout(180_000))
        .map(m -> {
          String summary = new JsonObject(m.body().body()).getJsonArray("choices").getJsonObject(0)
              .getJsonObject("message").getString("content", "").trim();
          if (summary.isEmpty()) {
            throw new IllegalStateException("the model returned an empty summary");
          }
          return summary;
        });
  }
}
