package dev.switchboard.memory;

import dev.switchboard.bus.Failure;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.text.Normalizer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.logging.Logger;
import java.util.regex.Pattern;

/**
 * What a memory write means and how memories are found, the same over either store.
 *
 * <p>Writing: the same text in the same scope is stored once ({@code duplicate}). A text whose
 * meaning is close to a stored memory (cosine at or above {@code update_threshold}) is the same
 * fact: if its words only add to or restate the stored ones it {@code updated} that memory in
 * place; if each has words the other lacks (another number, another day, another name) it is a
 * contradiction, and the new memory {@code superseded} the old one, which is kept, marked, with
 * its history. Everything else is {@code created}. Words are a blunt judge (two records that differ
 * only in a number look like one fact changed), so a {@code judge_model} can decide instead. A client that knows better names the memory it
 * replaces ({@code supersedes}). Writes to one scope are applied one at a time.
 *
 * <p>Finding: vector and keyword candidates of each requested scope (never another), ranked by
 * {@link Ranker}.
 */
public final class LongTermMemory {

  private static final Logger LOG = Logger.getLogger(LongTermMemory.class.getName());
  // no control characters: PostgreSQL refuses NUL in text, and none belongs in a name
  private static final Pattern SCOPE = Pattern.compile("(user|conversation|agent|tenant):[^\\s\\p{Cntrl}][^\\p{Cntrl}]{0,254}");
  static final int MAX_CONTENT = 8000;
  static final int MAX_SCOPES = 8;
  /** Keyword search uses the first this many distinct words of a query. */
  static final int MAX_QUERY_WORDS = 64;
  /** Queries up to this many characters are cut into words on the caller's thread (see {@link #words}). */
  static final int INLINE_QUERY_CHARS = 64;

  /** The answer to a write. */
  record Written(String id, String status) {
    JsonObject toJson() {
      return new JsonObject().put("id", id).put("status", status);
    }
  }

  private final Vertx vertx;
  private final LongTermStore store;
  private final Embedder embedder;
  private final MemorySettings settings;
  private final Ranker ranker;
  private final Map<String, Future<?>> scopeTails = new HashMap<>();
  private boolean reindexing;
  /** Memories the embedding provider refused (this run): skipped by the re-indexer. */
  private final java.util.Set<String> refused = new java.util.HashSet<>();
  private static final int REINDEX_BATCH = 32;

  LongTermMemory(Vertx vertx, LongTermStore store, Embedder embedder, MemorySettings settings) {
    this.vertx = vertx;
    this.store = store;
    this.embedder = embedder;
    this.settings = settings;
    this.ranker = new Ranker(settings);
  }

  LongTermStore store() {
    return store;
  }

  /** A 400 unless {@code scope} is {@code user:<id>}, {@code conversation:<platform>:<id>}, {@code agent:<name>} or {@code tenant:<id>}. */
  public static String checkScope(String scope) {
    if (scope == null || !SCOPE.matcher(scope).matches()) {
      throw Failure.badRequest("invalid_scope", "'scope' must look like user:<id>, conversation:<platform>:<id>, "
          + "agent:<name> or tenant:<id>" + (scope == null ? "" : ", got '" + scope + "'"));
    }
    return scope;
  }

  /**
   * Whether {@code id} could name a memory at all (ours are {@code mem_} and 32 hex digits): a
   * lookup of anything else finds nothing, without asking a store that may refuse the characters.
   */
  static boolean plausibleId(String id) {
    return id != null && !id.isEmpty() && id.length() <= 200 && id.chars().noneMatch(Character::isISOControl);
  }

  /** A 400 when {@code text} holds U+0000, which PostgreSQL cannot store (so neither profile takes it). */
  static String noNul(String text, String field) {
    if (text != null && text.indexOf('\0') >= 0) {
      throw Failure.badRequest("invalid_" + field, "'" + field + "' contains a NUL character (U+0000)");
    }
    return text;
  }

  /** The text as stored: what the client wrote, without surrounding or repeated white space. */
  static String normalize(String content) {
    return content.strip().replaceAll("\\s+", " ");
  }

  /**
   * Identifies content within a scope. Compatibility forms are folded first, so full-width and
   * half-width punctuation or digits (": " against "：") do not make two copies of one fact.
   */
  static String hash(String normalized) {
    String folded = Normalizer.normalize(normalized, Normalizer.Form.NFKC);
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(folded.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // writing

  Future<Written> add(String rawContent, String scope, JsonObject source, Instant expiresAt, String supersedes) {
    String content;
    try {
      checkScope(scope);
      if (rawContent == null || normalize(rawContent).isEmpty()) {
        throw Failure.badRequest("invalid_content", "'content' must be a non-empty string");
      }
      content = noNul(normalize(rawContent), "content");
      if (!Embedder.hasText(content)) {
        throw Failure.badRequest("invalid_content", "'content' has no visible text (only white space, control or invisible characters)");
      }
      if (content.length() > MAX_CONTENT) {
        throw Failure.badRequest("content_too_long", "'content' is " + content.length() + " characters; at most " + MAX_CONTENT);
      }
    } catch (Failure f) {
      return Future.failedFuture(f);
    }
    return serialized(scope, () -> write(content, scope, source == null ? new JsonObject() : source, expiresAt, supersedes));
  }

  private <T> Future<T> serialized(String scope, java.util.function.Supplier<Future<T>> work) {
    // on this write's own context: the one before completes on its own, with its request id (observe.RequestIds)
    Future<?> tail = dev.switchboard.observe.RequestIds.onCaller(scopeTails.getOrDefault(scope, Future.succeededFuture()));
    Future<T> next = tail.transform(ignored -> work.get());
    scopeTails.put(scope, next);
    next.onComplete(ar -> scopeTails.remove(scope, next));
    return next;
  }

  private Future<Written> write(String content, String scope, JsonObject source, Instant expiresAt, String supersedes) {
    // segmenting a long text takes a while (and loads a dictionary the first time): not on an event loop
    return vertx.executeBlocking(() -> Segmenter.joined(content), false)
        .compose(tokens -> write(content, tokens, scope, source, expiresAt, supersedes));
  }

  private Future<Written> write(String content, String tokens, String scope, JsonObject source, Instant expiresAt,
                                String supersedes) {
    String hash = hash(content);
    Instant now = Instant.now();
    return store.byHash(scope, hash).compose(existing -> {
      if (existing != null && !existing.expired(now)) {
        return Future.succeededFuture(new Written(existing.id(), "duplicate"));
      }
      if (existing != null) {
        // the same fact again after it expired: it lives again, with the new expiry
        Memory revived = new Memory(existing.id(), scope, content, tokens, hash, source.isEmpty() ? existing.source() : source,
            Memory.Status.ACTIVE, null, existing.createdAt(), now, expiresAt);
        return embedder.embed(content).recover(e -> Future.succeededFuture(null))
            .compose(v -> store.update(revived, v, new LongTermStore.HistoryEntry(existing.id(), "renewed", existing.content(), now)))
            .map(x -> new Written(existing.id(), "updated"));
      }
      // a memory whose vector cannot be made now is still stored; the re-indexer embeds it later
      Future<float[]> vector = embedder.embed(content).recover(e -> {
        LOG.warning("embedding failed (" + e.getMessage() + "); memory stored without a vector for now");
        return Future.succeededFuture(null);
      });
      return vector.compose(v -> {
        if (v == null) {
          kickReindex();
        }
        Memory fresh = new Memory(newId(), scope, content, tokens, hash, source, Memory.Status.ACTIVE, null,
            now, now, expiresAt);
        if (supersedes != null) {
          return (plausibleId(supersedes) ? store.byId(supersedes) : Future.<Memory>succeededFuture(null)).compose(old -> {
            if (old == null || !old.scope().equals(scope) || old.status() != Memory.Status.ACTIVE) {
              return Future.failedFuture(Failure.notFound("memory_not_found",
                  "no active memory '" + supersedes + "' in scope " + scope + " to supersede"));
            }
            return supersede(old, fresh, v);
          });
        }
        Future<List<LongTermStore.Hit>> near = v == null ? Future.succeededFuture(List.of()) : store.nearest(scope, v, 1, now);
        return near.compose(hits -> {
          LongTermStore.Hit nearest = hits.isEmpty() ? null : hits.get(0);
          if (nearest == null || nearest.similarity() < settings.updateThreshold()) {
            return store.insert(fresh, v, new LongTermStore.HistoryEntry(fresh.id(), "created", content, now))
                .map(x -> new Written(fresh.id(), "created"));
          }
          Memory old = nearest.memory();
          return judge(old.content(), content, old.tokens(), tokens).compose(verdict -> switch (verdict) {
            case DIFFERENT -> store.insert(fresh, v, new LongTermStore.HistoryEntry(fresh.id(), "created", content, now))
                .map(x -> new Written(fresh.id(), "created"));
            case CONTRADICTS -> supersede(old, fresh, v);
            case RESTATES -> update(old, content, tokens, hash, source, expiresAt, v, now);
          });
        });
      });
    }).recover(e -> e instanceof LongTermStore.DuplicateContent
        ? store.byHash(scope, hash).map(m -> new Written(m == null ? null : m.id(), "duplicate"))
        : Future.failedFuture(e));
  }

  /** The same fact in new words: the stored memory takes them, keeps its id, and its old wording goes to history. */
  private Future<Written> update(Memory old, String content, String tokens, String hash, JsonObject source,
                                 Instant expiresAt, float[] v, Instant now) {
    Memory updated = new Memory(old.id(), old.scope(), content, tokens, hash, source.isEmpty() ? old.source() : source,
        Memory.Status.ACTIVE, null, old.createdAt(), now, expiresAt != null ? expiresAt : old.expiresAt());
    return store.update(updated, v, new LongTermStore.HistoryEntry(old.id(), "updated", old.content(), now))
        .map(x -> new Written(old.id(), "updated"));
  }

  /** How a new text relates to a stored one that is close in meaning. */
  enum Verdict {
    RESTATES, CONTRADICTS, DIFFERENT
  }

  private static final String JUDGE_INSTRUCTION = """
      You maintain a memory of facts. Compare a STORED fact with a NEW one and answer with one word: \
      RESTATES if the new one says the same or adds detail without changing anything; \
      CONTRADICTS if it changes or replaces what the stored one says (another value, date, name or decision); \
      DIFFERENT if both can be true at once and are about different things.""";

  /**
   * With a judge model, the model decides (falling back to the words when it cannot be asked or
   * answers something else); without one, the words decide: see {@link #contradicts}.
   */
  private Future<Verdict> judge(String oldContent, String newContent, String oldTokens, String newTokens) {
    Verdict byWords = contradicts(oldTokens, newTokens) ? Verdict.CONTRADICTS : Verdict.RESTATES;
    if (settings.judgeModel().isEmpty()) {
      return Future.succeededFuture(byWords);
    }
    JsonObject body = new JsonObject()
        .put("model", settings.judgeModel())
        .put("temperature", 0)
        .put("max_tokens", 5)
        .put("messages", new JsonArray()
            .add(new JsonObject().put("role", "system").put("content", JUDGE_INSTRUCTION))
            .add(new JsonObject().put("role", "user").put("content", "STORED: " + oldContent + "\nNEW: " + newContent)));
    return vertx.eventBus().<dev.switchboard.bus.UpstreamReply>request(dev.switchboard.bus.Addresses.MODEL_CHAT,
            dev.switchboard.bus.ChatCall.internal(body, "switchboard:memory"),
            new io.vertx.core.eventbus.DeliveryOptions().setSendTimeout(60_000))
        .map(m -> {
          String answer = new JsonObject(m.body().body()).getJsonArray("choices").getJsonObject(0)
              .getJsonObject("message").getString("content", "").toUpperCase(java.util.Locale.ROOT);
          for (Verdict verdict : Verdict.values()) {
            if (answer.contains(verdict.name())) {
              return verdict;
            }
          }
          return byWords;
        })
        .otherwise(e -> {
          LOG.warning("memory judge unavailable (" + e.getMessage() + "); deciding by the words");
          return byWords;
        });
  }

  private Future<Written> supersede(Memory old, Memory fresh, float[] v) {
    Instant now = fresh.createdAt();
    List<LongTermStore.HistoryEntry> history = List.of(
        new LongTermStore.HistoryEntry(old.id(), "superseded", fresh.id(), now),
        new LongTermStore.HistoryEntry(fresh.id(), "created", fresh.content(), now),
        new LongTermStore.HistoryEntry(fresh.id(), "supersedes", old.id(), now));
    return store.supersede(old.id(), fresh, v, history).map(x -> new Written(fresh.id(), "superseded"));
  }

  /**
   * Two close texts contradict when each has words the other lacks ("the meeting is on Tuesday"
   * against "... on Thursday"); when one only adds to the other, it is the same fact restated.
   */
  static boolean contradicts(String oldTokens, String newTokens) {
    Set<String> a = Set.copyOf(List.of(oldTokens.isBlank() ? new String[0] : oldTokens.split(" ")));
    Set<String> b = Set.copyOf(List.of(newTokens.isBlank() ? new String[0] : newTokens.split(" ")));
    return !a.containsAll(b) && !b.containsAll(a);
  }

  private static String newId() {
    return "mem_" + UUID.randomUUID().toString().replace("-", "");
  }

  // ---------------------------------------------------------------------------------------------
  // finding

  /** The best {@code k} memories of the given scopes for {@code query}, each with its score. */
  Future<List<Ranker.Ranked>> search(String query, List<String> scopes, int k) {
    try {
      if (query == null || query.isBlank()) {
        throw Failure.badRequest("invalid_query", "'q' must be a non-empty string");
      }
      noNul(query, "q");
      if (!Embedder.hasText(query)) {
        throw Failure.badRequest("invalid_query", "'q' has no visible text (only white space, control or invisible characters)");
      }
      if (scopes.isEmpty()) {
        throw Failure.badRequest("invalid_scope", "a search needs a 'scope'");
      }
      scopes.forEach(LongTermMemory::checkScope);
      if (scopes.size() > MAX_SCOPES) {
        throw Failure.badRequest("invalid_scope", "a search covers at most " + MAX_SCOPES + " scopes");
      }
      if (k < 1 || k > 100) {
        throw Failure.badRequest("invalid_k", "'k' must be between 1 and 100");
      }
      if (query.length() > MAX_CONTENT) {
        throw Failure.badRequest("invalid_query", "'q' is longer than " + MAX_CONTENT + " characters");
      }
    } catch (Failure f) {
      return Future.failedFuture(f);
    }
    Instant now = Instant.now();
    int candidates = Math.max(20, 3 * k);
    return search(query, scopes, k, words(query), candidates, now);
  }

  /**
   * The keyword half's words. A long query is cut on a worker, while the query is embedded; a
   * short one, once the dictionaries are loaded, in place. Measured on 2 busy cores
   * (scripts/bench-memory.sh): cutting 64 characters takes 0.03 ms (p99 0.1 ms), the hop to a
   * worker and back 0.1 ms, but 1.5 to 4 ms at p99, waiting for a core, with the keyword half
   * held back all that time.
   */
  private Future<List<String>> words(String query) {
    if (query.length() > INLINE_QUERY_CHARS || !Segmenter.loaded()) {
      return vertx.executeBlocking(() -> keywords(query), false);
    }
    try {
      return Future.succeededFuture(keywords(query));
    } catch (RuntimeException e) {
      return Future.failedFuture(e);
    }
  }

  /**
   * The words a keyword search looks for. smartcn cuts words it does not know (names, say) into
   * single characters, and single characters match a large part of any Chinese text: they are
   * searched for only when the query has nothing longer.
   */
  static List<String> keywords(String query) {
    List<String> words = new ArrayList<>(Segmenter.distinct(query));
    boolean anyLonger = words.stream().anyMatch(w -> !singleHan(w));
    return words.stream().filter(w -> !anyLonger || !singleHan(w)).limit(MAX_QUERY_WORDS).toList();
  }

  private static boolean singleHan(String w) {
    return w.codePointCount(0, w.length()) == 1 && Character.UnicodeScript.of(w.codePointAt(0)) == Character.UnicodeScript.HAN;
  }

  private Future<List<Ranker.Ranked>> search(String query, List<String> scopes, int k, Future<List<String>> words,
                                             int candidates, Instant now) {
    if (embedder.warm()) {
      return ranked(query, scopes, k, words, candidates, now);
    }
    // scopes with no memories at all need no embedding (and no model loaded)
    List<Future<List<Memory>>> any = new ArrayList<>();
    scopes.forEach(s -> any.add(store.list(s, Memory.Status.ACTIVE, 1, null, now)));
    return Future.all(any).compose(x -> {
      if (any.stream().allMatch(f -> f.result().isEmpty())) {
        return words.map(w -> List.of());
      }
      return ranked(query, scopes, k, words, candidates, now);
    });
  }

  private Future<List<Ranker.Ranked>> ranked(String query, List<String> scopes, int k, Future<List<String>> words,
                                             int candidates, Instant now) {
    // without a vector (model unavailable) the keyword half still answers; a half weighted 0 is not asked
    Future<float[]> vector = settings.vectorWeight() == 0 ? Future.succeededFuture(null)
        : embedder.embedQuery(query).recover(e -> Future.succeededFuture(null));
    Future<List<String>> keywords = settings.keywordWeight() == 0 ? words.map(w -> List.of()) : words;
    List<Future<List<LongTermStore.Hit>>> byVector = new ArrayList<>();
    List<Future<List<LongTermStore.Hit>>> byKeyword = new ArrayList<>();
    for (String scope : scopes) {
      byVector.add(vector.compose(v -> v == null ? Future.succeededFuture(List.of()) : store.nearest(scope, v, candidates, now)));
      byKeyword.add(keywords.compose(w -> store.keyword(scope, w, candidates, now)));
    }
    List<Future<?>> all = new ArrayList<>(byVector);
    all.addAll(byKeyword);
    return Future.all(all).map(x -> {
      List<LongTermStore.Hit> vs = new ArrayList<>();
      List<LongTermStore.Hit> ks = new ArrayList<>();
      byVector.forEach(f -> vs.addAll(f.result()));
      byKeyword.forEach(f -> ks.addAll(f.result()));
      return ranker.rank(vs, ks, k, now);
    });
  }

  /** The system message that hands recalled memories to the model, each with where and when it was learnt. */
  static String prompt(List<Ranker.Ranked> recalled) {
    if (recalled.isEmpty()) {
      return null;
    }
    StringBuilder out = new StringBuilder("Long-term memory: facts remembered earlier that may help with this message "
        + "(use them if relevant; newer facts win over older ones):\n");
    for (Ranker.Ranked r : recalled) {
      Memory m = r.memory();
      String from = m.source().getString("channel", m.scope());
      out.append("- ").append(m.content()).append(" (").append(from).append(", ")
          .append(m.updatedAt().toString(), 0, 10).append(")\n");
    }
    return out.toString();
  }

  static JsonObject view(Ranker.Ranked r) {
    return r.memory().toJson().put("score", round(r.score()))
        .put("signals", new JsonObject().put("similarity", round(r.similarity())).put("keyword", round(r.keyword())));
  }

  private static double round(double v) {
    return Math.round(v * 10000) / 10000.0;
  }

  static JsonArray views(List<Ranker.Ranked> ranked) {
    JsonArray out = new JsonArray();
    ranked.forEach(r -> out.add(view(r)));
    return out;
  }

  // ---------------------------------------------------------------------------------------------
  // re-indexing

  /** Embeds memories that have no vector from the current model, a batch at a time, until none is left. */
  void kickReindex() {
    if (reindexing) {
      return;
    }
    reindexing = true;
    reindexBatch(0);
  }

  private void reindexBatch(long doneSoFar) {
    store.unembedded(REINDEX_BATCH + refused.size())
        .compose(rows -> {
          List<Memory> batch = rows.stream().filter(m -> !refused.contains(m.id())).limit(REINDEX_BATCH).toList();
          if (batch.isEmpty()) {
            return Future.succeededFuture(-1);
          }
          return embedder.embed(batch.stream().map(Memory::content).toList())
              .compose(vectors -> {
                List<Future<Void>> writes = new ArrayList<>();
                for (int i = 0; i < batch.size(); i++) {
                  writes.add(store.embed(batch.get(i).id(), vectors.get(i)));
                }
                return Future.all(writes).map(batch.size());
              })
              // a provider that refuses one text (too long, say) must not stop all the others
              .recover(e -> refusedByProvider(e) ? oneByOne(batch) : Future.failedFuture(e));
        })
        .onComplete(ar -> {
          if (ar.succeeded() && ar.result() < 0) {
            reindexing = false;
            if (doneSoFar > 0) {
              LOG.info("re-indexed " + doneSoFar + " memories with " + embedder.model());
            }
          } else if (ar.succeeded()) {
            reindexBatch(doneSoFar + ar.result());
          } else {
            LOG.warning("re-indexing paused (" + ar.cause().getMessage() + "); retrying in 10 s");
            vertx.setTimer(10_000, t -> reindexBatch(doneSoFar));
          }
        });
  }

  private static boolean refusedByProvider(Throwable e) {
    return e instanceof Failure f && f.status() >= 400 && f.status() < 500 && f.status() != 429;
  }

  /** Embeds a batch text by text; a text the provider refuses is left without a vector (keywords still find it). */
  private Future<Integer> oneByOne(List<Memory> batch) {
    Future<Void> chain = Future.succeededFuture();
    for (Memory m : batch) {
      chain = chain.compose(v -> embedder.embed(m.content())
          .compose(vector -> store.embed(m.id(), vector))
          .recover(e -> {
            if (!refusedByProvider(e)) {
              return Future.failedFuture(e);
            }
            refused.add(m.id());
            LOG.warning("memory " + m.id() + " stays without a vector: " + e.getMessage());
            return Future.succeededFuture();
          }));
    }
    return chain.map(batch.size());
  }

  boolean reindexing() {
    return reindexing;
  }
}
