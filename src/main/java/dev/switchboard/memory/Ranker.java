package dev.switchboard.memory;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Hybrid ranking, the same for both stores: meaning (cosine similarity) and keyword match
 * (the store's relevance, scaled by the best in this result set) are blended by weight, older
 * memories fade by a half-life, and maximal marginal relevance picks the results one by one so
 * that five phrasings of one fact do not crowd out the second fact. Diversity is measured on the
 * segmented words, which every candidate carries, so no vectors need to travel from the store.
 */
final class Ranker {

  /** One ranked result: its score, and what meaning (cosine similarity) and words (0..1 of the best match) said. */
  record Ranked(Memory memory, double score, double similarity, double keyword) {
  }

  private final MemorySettings settings;

  Ranker(MemorySettings settings) {
    this.settings = settings;
  }

  List<Ranked> rank(List<LongTermStore.Hit> byVector, List<LongTermStore.Hit> byKeyword, int k, Instant now) {
    Map<String, double[]> signals = new LinkedHashMap<>();
    Map<String, Memory> memories = new LinkedHashMap<>();
    for (LongTermStore.Hit h : byVector) {
      memories.putIfAbsent(h.memory().id(), h.memory());
      signals.computeIfAbsent(h.memory().id(), id -> new double[2])[0] = Math.max(0, h.similarity());
    }
    double bestKeyword = 0;
    for (LongTermStore.Hit h : byKeyword) {
      bestKeyword = Math.max(bestKeyword, h.keyword());
    }
    for (LongTermStore.Hit h : byKeyword) {
      memories.putIfAbsent(h.memory().id(), h.memory());
      signals.computeIfAbsent(h.memory().id(), id -> new double[2])[1] = bestKeyword > 0 ? h.keyword() / bestKeyword : 0;
    }
    double weights = settings.vectorWeight() + settings.keywordWeight();
    List<Ranked> pool = new ArrayList<>();
    for (Map.Entry<String, double[]> e : signals.entrySet()) {
      double[] s = e.getValue();
      double relevance = weights == 0 ? 0 : (settings.vectorWeight() * s[0] + settings.keywordWeight() * s[1]) / weights;
      Memory m = memories.get(e.getKey());
      pool.add(new Ranked(m, relevance * recency(m, now), s[0], s[1]));
    }
    pool.sort(Comparator.comparingDouble(Ranked::score).reversed());
    // diversity is weighed among the strongest candidates only: bounded work per search
    return diverse(pool.subList(0, Math.min(pool.size(), Math.max(30, 3 * k))), k);
  }

  /** 1 for a memory written now, falling towards {@code 1 - weight} as it ages. */
  double recency(Memory m, Instant now) {
    double halfLife = settings.halfLife().toMillis();
    double age = Math.max(0, Duration.between(m.updatedAt(), now).toMillis());
    double decay = halfLife <= 0 ? 1 : Math.pow(0.5, age / halfLife);
    return 1 - settings.recencyWeight() + settings.recencyWeight() * decay;
  }

  /**
   * Greedy MMR. Each candidate keeps its largest overlap with anything picked so far, updated
   * against the newest pick only, so a pick costs one pass over the candidates.
   */
  private List<Ranked> diverse(List<Ranked> pool, int k) {
    double lambda = settings.mmrLambda();
    int n = pool.size();
    List<Set<String>> words = new ArrayList<>(n);
    for (Ranked r : pool) {
      String t = r.memory().tokens();
      words.add(new java.util.HashSet<>(List.of(t.isBlank() ? new String[0] : t.split(" "))));
    }
    double[] redundancy = new double[n];
    boolean[] taken = new boolean[n];
    List<Ranked> picked = new ArrayList<>(Math.min(k, n));
    while (picked.size() < k && picked.size() < n) {
      int best = -1;
      double bestValue = Double.NEGATIVE_INFINITY;
      for (int i = 0; i < n; i++) {
        if (!taken[i]) {
          double value = lambda * pool.get(i).score() - (1 - lambda) * redundancy[i];
          if (value > bestValue) {
            bestValue = value;
            best = i;
          }
        }
      }
      taken[best] = true;
      picked.add(pool.get(best));
      for (int i = 0; i < n; i++) {
        if (!taken[i]) {
          redundancy[i] = Math.max(redundancy[i], Segmenter.overlap(words.get(i), words.get(best)));
        }
      }
    }
    return picked;
  }
}
