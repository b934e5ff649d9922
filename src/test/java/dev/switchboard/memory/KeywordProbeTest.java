package dev.switchboard.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Which of a query's words PostgreSQL's keyword search finds rows by ({@link PgMemories#probe}). */
@DisplayName("Keyword search finds rows by its rarest words")
class KeywordProbeTest {

  @Test
  @DisplayName("without statistics (a new table) every word finds rows")
  void everyWordWithoutStatistics() {
    assertEquals(List.of("每天", "早上", "绿茶"), PgMemories.probe(List.of("每天", "早上", "绿茶"), Map.of()));
  }

  @Test
  @DisplayName("common words are left out of the condition while a rare one is in the query")
  void rareWordsOnly() {
    Map<String, Double> rows = Map.of("每天", 7000.0, "早上", 3500.0, "绿茶", 600.0);
    assertEquals(List.of("sku7731", "绿茶"), PgMemories.probe(List.of("每天", "早上", "绿茶", "sku7731"), rows));
  }

  @Test
  @DisplayName("a query of common words only is found by the least common one")
  void leastCommonOfCommonWords() {
    Map<String, Double> rows = Map.of("每天", 7000.0, "早上", 3500.0);
    assertEquals(List.of("早上"), PgMemories.probe(List.of("每天", "早上"), rows));
  }

  @Test
  @DisplayName("rare words join the condition while together they stay within the budget")
  void rareWordsWithinBudget() {
    double half = PgMemories.PROBE_BUDGET / 2.0;
    Map<String, Double> rows = Map.of("a", half, "b", half, "c", half);
    assertEquals(List.of("a", "b"), PgMemories.probe(List.of("a", "b", "c"), rows));
  }
}
