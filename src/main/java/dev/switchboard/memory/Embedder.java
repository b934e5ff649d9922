package dev.switchboard.memory;

import io.vertx.core.Future;
import java.util.List;

/**
 * Turns texts into unit-length vectors. {@link #model()} names the model that made them, so a
 * store can tell its vectors apart from another model's and re-index instead of mixing them.
 */
public interface Embedder {

  /** Stable name of the model, e.g. {@code local:bge-small-zh-v1.5} or {@code siliconflow:BAAI/bge-m3}. */
  String model();

  /**
   * The names a client may put in {@code model} of {@code POST /v1/embeddings} for this model, the
   * one it answers with first: a request for any other model is refused rather than answered by
   * this one.
   */
  default List<String> names() {
    return List.of(model());
  }

  /** Vector length; known once {@link #ready()} has completed. */
  int dimensions();

  /** Loads the model or learns the dimensions from the provider. */
  Future<Void> ready();

  /** One vector per text, in order, each of unit length. */
  Future<List<float[]>> embed(List<String> texts);

  default Future<float[]> embed(String text) {
    return embed(List.of(text)).map(l -> l.get(0));
  }

  /** A variant of {@link #embed(String)} for search queries (some models want an instruction there). */
  default Future<float[]> embedQuery(String text) {
    return embed(text);
  }

  /** False while embedding would first have to load a model. */
  default boolean warm() {
    return true;
  }

  default void close() {
  }

  /**
   * Whether a text has anything a model can read. BERT-style tokenizers drop white space, control,
   * format (zero-width), surrogate, private-use and unassigned characters and U+FFFD, so a text made
   * only of those has no tokens at all (and the local model fails on it); for memories and queries
   * such a text means nothing either.
   */
  static boolean hasText(String text) {
    return text.codePoints().anyMatch(cp -> {
      if (cp == 0xFFFD || Character.isWhitespace(cp) || Character.isSpaceChar(cp)) {
        return false;
      }
      int type = Character.getType(cp);
      return type != Character.CONTROL && type != Character.FORMAT && type != Character.SURROGATE
          && type != Character.PRIVATE_USE && type != Character.UNASSIGNED;
    });
  }

  static float[] normalize(float[] v) {
    double sum = 0;
    for (float x : v) {
      sum += x * x;
    }
    if (sum == 0) {
      return v;
    }
    float inv = (float) (1 / Math.sqrt(sum));
    float[] out = new float[v.length];
    for (int i = 0; i < v.length; i++) {
      out[i] = v[i] * inv;
    }
    return out;
  }

  static double cosine(float[] a, float[] b) {
    double dot = 0;
    for (int i = 0; i < a.length; i++) {
      dot += a[i] * b[i];
    }
    return dot;
  }
}
