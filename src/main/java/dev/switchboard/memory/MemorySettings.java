package dev.switchboard.memory;

import dev.switchboard.config.ConfigNode;
import java.time.Duration;

/**
 * {@code memory:} in {@code switchboard.yaml}. Defaults live here, next to the code that reads them.
 *
 * @param ttl how long a conversation is remembered after its last turn
 * @param maxTurns turns (a message and its answer) kept verbatim per conversation
 * @param maxTokens approximate token budget of the kept turns
 * @param summarize whether turns pushed out of the window are summarised first (needs a model)
 * @param summaryModel model for summaries; empty means the default model
 * @param updateThreshold cosine similarity from which a new memory is the same fact as a stored one
 * @param judgeModel model that decides whether a close memory restates, updates or contradicts a
 *     stored one, or is a different fact; empty: decided by comparing their words
 * @param vectorWeight weight of meaning in hybrid search
 * @param keywordWeight weight of keyword match in hybrid search
 * @param halfLife age at which a memory's recency factor halves
 * @param recencyWeight how much recency counts (0: not at all, 1: only recency)
 * @param mmrLambda relevance against diversity when picking results (1: relevance only)
 * @param minScore results below this score are not recalled into prompts
 * @param recall memories injected into a prompt
 * @param skills whether tasks offer the model the remember/recall tools
 */
public record MemorySettings(
    Duration ttl,
    int maxTurns,
    int maxTokens,
    boolean summarize,
    String summaryModel,
    double updateThreshold,
    String judgeModel,
    double vectorWeight,
    double keywordWeight,
    Duration halfLife,
    double recencyWeight,
    double mmrLambda,
    double minScore,
    int recall,
    boolean skills,
    int embedThreads) {

  public static MemorySettings defaults() {
    return from(ConfigNode.empty("switchboard.yaml"));
  }

  public static MemorySettings from(ConfigNode n) {
    n.allowOnly("short_term", "long_term", "skills", "embed_threads");
    ConfigNode st = n.get("short_term");
    st.allowOnly("ttl", "max_turns", "max_tokens", "summarize", "summary_model");
    ConfigNode lt = n.get("long_term");
    lt.allowOnly("update_threshold", "judge_model", "weights", "recency", "mmr_lambda", "min_score", "recall");
    ConfigNode weights = lt.get("weights");
    weights.allowOnly("vector", "keyword");
    ConfigNode recency = lt.get("recency");
    recency.allowOnly("half_life", "weight");
    return new MemorySettings(
        st.get("ttl").duration(Duration.ofDays(7)),
        st.get("max_turns").integer(10, 1, 500),
        st.get("max_tokens").integer(2000, 100, 1_000_000),
        st.get("summarize").bool(true),
        st.get("summary_model").string(""),
        fraction(lt.get("update_threshold"), 0.9),
        lt.get("judge_model").string(""),
        fraction(weights.get("vector"), 0.7),
        fraction(weights.get("keyword"), 0.3),
        recency.get("half_life").duration(Duration.ofDays(30)),
        fraction(recency.get("weight"), 0.2),
        fraction(lt.get("mmr_lambda"), 0.7),
        fraction(lt.get("min_score"), 0.3),
        lt.get("recall").integer(5, 0, 50),
        n.get("skills").bool(true),
        n.get("embed_threads").integer(1, 1, 64));
  }

  private static double fraction(ConfigNode n, double fallback) {
    double v = n.decimal(fallback);
    if (v < 0 || v > 1) {
      throw n.error("must be between 0 and 1, got " + v);
    }
    return v;
  }
}
