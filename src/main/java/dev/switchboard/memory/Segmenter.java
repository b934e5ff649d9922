package dev.switchboard.memory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.cn.smart.SmartChineseAnalyzer;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;

/**
 * Splits text into the words keyword search matches. Chinese has no spaces, so a plain tokenizer
 * would see a whole sentence as one word; smartcn segments it ("明天下午开会" → 明天, 下午, 开会),
 * lower-cases and stems English, and drops punctuation. Both profiles store and query these
 * words, so a keyword query finds the same memories in either.
 */
final class Segmenter {

  private static final Pattern WORD = Pattern.compile("[\\p{L}\\p{N}_]+");
  /** Function words that match everything and mean nothing to a keyword search. */
  private static final Set<String> STOP = Set.of(
      "的", "了", "是", "在", "和", "与", "及", "也", "就", "都", "而", "把", "被", "之", "于", "为", "着", "过",
      "吗", "呢", "吧", "啊", "呀", "么", "这", "那", "个", "有", "我", "你", "他", "她", "它", "们",
      "a", "an", "the", "is", "are", "was", "of", "to", "in", "on", "and", "or", "for", "it", "be");
  /** Thread-safe: Lucene analyzers keep per-thread token streams. */
  private static final Analyzer ANALYZER = new SmartChineseAnalyzer(true);
  /** Set once a text has been cut: smartcn loads its dictionaries (a few hundred ms) on first use. */
  private static volatile boolean loaded;

  private Segmenter() {
  }

  /** The words of {@code text} in order, repeats kept. */
  public static List<String> words(String text) {
    List<String> out = new ArrayList<>();
    try (TokenStream ts = ANALYZER.tokenStream("text", text)) {
      CharTermAttribute term = ts.addAttribute(CharTermAttribute.class);
      ts.reset();
      while (ts.incrementToken()) {
        String w = term.toString();
        if (WORD.matcher(w).matches() && !STOP.contains(w)) {
          out.add(w);
        }
      }
      ts.end();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    loaded = true;
    return out;
  }

  /** Whether the dictionaries are in memory, so that cutting a short text takes microseconds. */
  static boolean loaded() {
    return loaded;
  }

  /** The distinct words, for queries and comparisons. */
  public static Set<String> distinct(String text) {
    return new LinkedHashSet<>(words(text));
  }

  /** Words joined by spaces: what the stores index. */
  public static String joined(String text) {
    return String.join(" ", words(text));
  }

  /** Jaccard similarity of two word sets, in [0, 1]. */
  public static double overlap(Set<String> a, Set<String> b) {
    if (a.isEmpty() && b.isEmpty()) {
      return 1;
    }
    int common = 0;
    for (String w : a) {
      if (b.contains(w)) {
        common++;
      }
    }
    return (double) common / (a.size() + b.size() - common);
  }
}
