package dev.switchboard.memory;

import io.vertx.core.Future;
import java.time.Instant;
import java.util.List;

/**
 * Where long-term memories live: the embedded store (SQLite + a Lucene index) or PostgreSQL with
 * pgvector. Stores only keep and find; what counts as a duplicate, an update or a contradiction is
 * decided once, in {@link LongTermMemory}, so both profiles behave the same.
 *
 * <p>Vectors are unit length (the embedders normalise them); similarity is cosine in [-1, 1].
 * A memory whose vector is {@code null} (its embedding failed, or the model changed and it waits
 * for re-indexing) is still found by keywords, and {@link #unembedded} hands it to the re-indexer.
 * Every method fails with a {@link dev.switchboard.bus.Failure} 503 when the store cannot be reached.
 */
public interface LongTermStore {

  /** A memory found by a search, with what each half of the hybrid search thought of it. */
  record Hit(Memory memory, double similarity, double keyword) {
  }

  /** A memory change to write, and the history line that explains it. */
  record HistoryEntry(String memoryId, String event, String content, Instant at) {
  }

  /**
   * Creates or migrates the schema (idempotent, safe with several instances starting at once) and
   * records which embedding model made the vectors. When {@code model} differs from the recorded
   * one, every stored vector is dropped (and the vector column resized when the dimensions
   * differ), so that the re-indexer fills them again instead of mixing two models' vectors.
   * Returns the number of memories waiting for a vector.
   */
  Future<Long> open(String model, int dimensions);

  /** The active memory with this content hash in this scope, or null. */
  Future<Memory> byHash(String scope, String hash);

  Future<Memory> byId(String id);

  /**
   * The {@code n} active, unexpired memories of {@code scope} nearest to {@code vector}, nearest
   * first ({@link Hit#keyword()} is 0).
   */
  Future<List<Hit>> nearest(String scope, float[] vector, int n, Instant now);

  /**
   * The {@code n} active, unexpired memories of {@code scope} that best match any of the
   * {@code tokens} (segmented query words), best first ({@link Hit#similarity()} is 0, keyword
   * is the store's own relevance score, greater is better).
   */
  Future<List<Hit>> keyword(String scope, List<String> tokens, int n, Instant now);

  /**
   * Stores a new memory with its vector (null allowed). Fails with {@link DuplicateContent} when an
   * active memory of the same scope already has this hash (a concurrent writer won).
   */
  Future<Void> insert(Memory memory, float[] vector, HistoryEntry history);

  /** Replaces content, tokens, hash, source, expiry and vector of an active memory, keeping its id. */
  Future<Void> update(Memory memory, float[] vector, HistoryEntry history);

  /** Marks {@code old} superseded by {@code replacement} and inserts the replacement, atomically. */
  Future<Void> supersede(String oldId, Memory replacement, float[] vector, List<HistoryEntry> history);

  /** A place in a listing: after the memory created at {@code createdAt} with this id (newest first). */
  record Position(Instant createdAt, String id) {
  }

  /**
   * Active (or, with {@code status}, superseded) memories of a scope, newest first, after
   * {@code after} (null: from the newest). The position is values, not a row, so a listing goes on
   * even when the memory it stopped at has been deleted meanwhile.
   */
  Future<List<Memory>> list(String scope, Memory.Status status, int limit, Position after, Instant now);

  /** The history of one memory, oldest first. */
  Future<List<HistoryEntry>> history(String id);

  /** Deletes a memory and its history for good; false when there was none. */
  Future<Boolean> delete(String id);

  /** Up to {@code limit} memories that have no vector from the current model. */
  Future<List<Memory>> unembedded(int limit);

  /** Sets the vector of one memory (made by the current model). */
  Future<Void> embed(String id, float[] vector);

  /** Deletes memories whose expiry passed before {@code before}; returns how many. */
  Future<Integer> purgeExpired(Instant before);

  Future<Void> ping();

  Future<Void> close();

  /** Another writer stored the same content in the same scope first. */
  final class DuplicateContent extends RuntimeException {
    public DuplicateContent() {
      super("duplicate content", null, false, false);
    }
  }
}
