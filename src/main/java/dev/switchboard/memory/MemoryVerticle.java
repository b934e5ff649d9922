package dev.switchboard.memory;

import dev.switchboard.audit.Audit;
import dev.switchboard.audit.AuditEvent;
import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.Failure;
import dev.switchboard.bus.Health;
import dev.switchboard.model.ModelSettings;
import dev.switchboard.observe.Metrics;
import dev.switchboard.store.EmbeddedStore;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.DateTimeException;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;

/**
 * Memory: conversation windows (short-term) and durable, searchable facts (long-term), plus the
 * embeddings both the memory and {@code POST /v1/embeddings} use. The storage profile picks the
 * stores: the data dir's database and a Lucene index (embedded), or Redis and PostgreSQL with
 * pgvector (distributed). A distributed store that cannot be reached does not stop start-up: the
 * component reports itself not ready, answers 503, and keeps trying; conversation turns that
 * arrive meanwhile wait in the embedded outbox and are written, in order, once Redis is back.
 */
public final class MemoryVerticle extends VerticleBase {

  private static final Logger LOG = Logger.getLogger(MemoryVerticle.class.getName());

  /** Where the stores are. */
  public record Storage(String profile, Path dataDir, String redisUrl, String postgresUrl) {
    boolean distributed() {
      return "distributed".equals(profile);
    }
  }

  /** The migrations of long-term memory's PostgreSQL schema (distributed profile), for {@code doctor}. */
  public static java.util.List<Integer> postgresMigrations() {
    return PgMemories.migrations();
  }

  private static final Instant LATEST = Instant.parse("9999-12-31T23:59:59Z");

  private final Storage storage;
  private final MemorySettings settings;
  private final ModelSettings.Embeddings embeddingSettings;
  private final String defaultModel;
  private EmbeddedStore local;
  private Outbox outbox;
  private ShortTermMemory shortTerm;
  private LongTermMemory longTerm;
  private Embedder embedder;
  private volatile boolean longTermOpen;
  private volatile String longTermError = "starting";
  private long sweeper = -1;
  private long reembedder = -1;
  private long opener = -1;

  public MemoryVerticle(Storage storage, MemorySettings settings, ModelSettings.Embeddings embeddings, String defaultModel) {
    this.storage = storage;
    this.settings = settings;
    this.embeddingSettings = embeddings;
    this.defaultModel = defaultModel;
  }

  @Override
  public Future<?> start() {
    embedder = embeddingSettings.local()
        ? new LocalEmbedder(vertx, settings.embedThreads(), storage.dataDir())
        : new RemoteEmbedder(vertx, embeddingSettings.provider(), embeddingSettings.model(), embeddingSettings.batch());
    return EmbeddedStore.open(vertx, storage.dataDir())
        .compose(store -> {
          local = store;
          if (storage.distributed()) {
            outbox = new Outbox(store);
            return outbox.init().map(v -> (ShortTermStore) new RedisHistory(vertx, storage.redisUrl()));
          }
          EmbeddedHistory history = new EmbeddedHistory(store);
          return history.init().map(v -> (ShortTermStore) history);
        })
        .compose(history -> {
          shortTerm = new ShortTermMemory(vertx, history, settings, defaultModel);
          LongTermStore memories = storage.distributed()
              ? new PgMemories(vertx, storage.postgresUrl())
              : new EmbeddedMemories(vertx, storage.dataDir());
          longTerm = new LongTermMemory(vertx, memories, embedder, settings);
          var bus = vertx.eventBus();
          return Future.all(List.of(
              bus.<JsonObject>localConsumer(Addresses.MEMORY_HISTORY, this::history).completion(),
              bus.<JsonObject>localConsumer(Addresses.MEMORY_REMEMBER, this::remember).completion(),
              bus.<JsonObject>localConsumer(Addresses.MEMORY_ADD, this::add).completion(),
              bus.<JsonObject>localConsumer(Addresses.MEMORY_SEARCH, this::search).completion(),
              bus.<JsonObject>localConsumer(Addresses.MEMORY_RECALL, this::recall).completion(),
              bus.<JsonObject>localConsumer(Addresses.MEMORY_LIST, this::list).completion(),
              bus.<String>localConsumer(Addresses.MEMORY_GET, this::get).completion(),
              bus.<String>localConsumer(Addresses.MEMORY_DELETE, this::delete).completion(),
              bus.<JsonObject>localConsumer(Addresses.MEMORY_EMBED, this::embed).completion(),
              bus.<Void>localConsumer(Addresses.MEMORY_HEALTH, this::health).completion()));
        })
        .onSuccess(v -> {
          // long-term memory opens in the background: a networked store or embedding provider may
          // take its time, and an embedded index may need rebuilding after a crash (a minute at
          // 100k memories); the gateway serves everything else meanwhile and says memory is not ready
          tryOpen();
          if (outbox != null) {
            outbox.isEmpty().onSuccess(empty -> {
              if (!empty) {
                drainLater();
              }
            });
          }
          sweeper = vertx.setPeriodic(Duration.ofMinutes(10).toMillis(), id -> sweep());
          // memories stored while the embedding provider was away get their vectors once it is back
          reembedder = vertx.setPeriodic(Duration.ofMinutes(1).toMillis(), id -> {
            if (longTermOpen) {
              longTerm.kickReindex();
            }
          });
        });
  }

  private Future<Void> openLongTerm() {
    return embedder.ready()
        .compose(v -> longTerm.store().open(embedder.model(), embedder.dimensions()))
        .map(pending -> {
          longTermOpen = true;
          longTermError = null;
          if (pending > 0) {
            LOG.info(pending + " memories have no vector from " + embedder.model() + ": re-indexing");
            longTerm.kickReindex();
          }
          return null;
        });
  }

  private void tryOpen() {
    if (stopped) {
      return;
    }
    Future<Void> attempt = openLongTerm();
    opening = attempt;
    attempt.onFailure(e -> {
      if (stopped) {
        return;
      }
      longTermError = e.getMessage();
      LOG.warning("long-term memory is not ready (" + e.getMessage() + "); trying again in 5 s");
      opener = vertx.setTimer(5000, t -> tryOpen());
    });
  }

  @Override
  public Future<?> stop() {
    stopped = true;
    vertx.cancelTimer(sweeper);
    vertx.cancelTimer(reembedder);
    vertx.cancelTimer(opener);
    // an open under way finishes first (normally a few hundred ms; an index rebuild is cut short
    // after 10 s): closing stores under its feet would leave its blocking work with nowhere to run
    return opening.transform(ar -> Future.succeededFuture()).timeout(10, java.util.concurrent.TimeUnit.SECONDS)
        .otherwise(e -> null)
        .compose(v -> {
          List<Future<?>> closing = new ArrayList<>();
          if (shortTerm != null && storage.distributed()) {
            closing.add(shortTerm.store().close());
          }
          if (longTerm != null) {
            closing.add(longTerm.store().close());
          }
          if (embedder != null) {
            embedder.close();
          }
          return Future.join(closing).timeout(10, java.util.concurrent.TimeUnit.SECONDS);
        })
        .eventually(() -> local == null ? Future.succeededFuture() : local.close())
        .otherwise(e -> {
          LOG.warning("memory stores did not close cleanly: " + e.getMessage());
          return null;
        });
  }

  /** The latest attempt to open long-term memory. */
  private Future<Void> opening = Future.succeededFuture();

  /** Set when the verticle stops: a background open neither starts nor retries after it. */
  private volatile boolean stopped;

  private void sweep() {
    shortTerm.store().expire(settings.ttl());
    if (longTermOpen) {
      longTerm.store().purgeExpired(Instant.now());
    }
  }

  // ---------------------------------------------------------------------------------------------
  // short-term

  private void history(Message<JsonObject> message) {
    String scope = message.body().getString("conversation");
    int limit = message.body().getInteger("limit", 2 * settings.maxTurns());
    shortTerm.history(scope, limit).onComplete(ar -> reply(message, ar.map(x -> x)));
  }

  private void remember(Message<JsonObject> message) {
    String scope = message.body().getString("conversation");
    Object raw = message.body().getValue("turns");
    // the bus address may be bridged to other services: a malformed turn is refused, not a 500 deep in a store
    if (scope == null || !(raw instanceof JsonArray turns) || !turns.stream().allMatch(t -> t instanceof JsonObject o
        && o.getValue("role") instanceof String && o.getValue("content") instanceof String)) {
      Failure.reply(message, Failure.badRequest("invalid_turns",
          "'conversation' is a string and 'turns' an array of {\"role\", \"content\"} strings"));
      return;
    }
    if (outbox == null) {
      shortTerm.remember(scope, turns).onComplete(ar -> reply(message, ar.map(x -> null)));
      return;
    }
    // distributed: while anything waits in the outbox, new turns queue behind it to keep their order;
    // only an unreachable store sends turns there (anything else would block the queue for good)
    outbox.isEmpty()
        .compose(empty -> empty
            ? shortTerm.remember(scope, turns).recover(e -> unreachable(e)
                ? outbox.add(scope, turns).onSuccess(v -> drainLater())
                : Future.failedFuture(e))
            : outbox.add(scope, turns).onSuccess(v -> drainLater()))
        .onComplete(ar -> reply(message, ar.map(x -> null)));
  }

  private static boolean unreachable(Throwable e) {
    return e instanceof Failure f && f.status() == 503;
  }

  /** A drain is scheduled or running; set and cleared on the event loop only. */
  private boolean draining;

  private void drainLater() {
    if (!draining) {
      draining = true;
      vertx.setTimer(2000, t -> drain());
    }
  }

  /** Writes held turns oldest first, 50 at a time, until none is left; waits 2 s after a failure. */
  private void drain() {
    outbox.oldest(50).compose(batch -> {
      Future<Void> chain = Future.succeededFuture();
      for (Outbox.Entry e : batch) {
        chain = chain.compose(v -> shortTerm.remember(e.scope(), e.turns())
            // a turn the store refuses for good is dropped with a line, not retried forever
            .recover(err -> unreachable(err) ? Future.failedFuture(err) : dropped(e, err))
            .compose(x -> outbox.remove(e.seq())));
      }
      return chain.map(v -> batch.size());
    }).onComplete(ar -> {
      if (ar.succeeded() && ar.result() == 0) {
        draining = false;
        LOG.info("conversation turns held while the short-term store was down are written");
      } else if (ar.succeeded()) {
        vertx.runOnContext(v -> drain());
      } else {
        vertx.setTimer(2000, t -> drain());
      }
    });
  }

  private static Future<Void> dropped(Outbox.Entry e, Throwable err) {
    LOG.warning("held turns of " + e.scope() + " could not be written and are dropped: " + err.getMessage());
    return Future.succeededFuture();
  }

  // ---------------------------------------------------------------------------------------------
  // long-term

  private boolean longTermReady(Message<?> message) {
    if (!longTermOpen) {
      Failure.reply(message, Failure.unavailable("memory_unavailable", "long-term memory is not ready: " + longTermError));
      return false;
    }
    return true;
  }

  /** Longest {@code source} kept with a memory (its JSON): it is a label, not a second content. */
  static final int MAX_SOURCE = 4096;

  private void add(Message<JsonObject> message) {
    if (!longTermReady(message)) {
      return;
    }
    JsonObject body = message.body() == null ? new JsonObject() : message.body();
    Instant expires;
    JsonObject source;
    String supersedes;
    try {
      requiredString(body, "content");
      requiredString(body, "scope");
      expires = expiry(body);
      source = source(body.getValue("source"));
      Object s = body.getValue("supersedes");
      if (s != null && !(s instanceof String)) {
        throw Failure.badRequest("invalid_supersedes", "'supersedes' must be the id of a memory (a string), got " + kind(s));
      }
      supersedes = (String) s;
    } catch (Failure f) {
      Failure.reply(message, f);
      return;
    }
    longTerm.add(body.getString("content"), body.getString("scope"), source, expires, supersedes)
        .onComplete(ar -> {
          Metrics.current().memoryWrite(ar.succeeded() ? ar.result().status() : "failed");
          Audit.record(vertx, AuditEvent.of("", "memory.write", ar.succeeded() ? ar.result().id() : "", ar.succeeded() ? ar.result().status() : "failed").detail("scope", body.getString("scope")).size("content_chars", body.getString("content").length()));
          reply(message, ar.map(LongTermMemory.Written::toJson));
        });
  }

  private static void requiredString(JsonObject body, String field) {
    Object v = body.getValue(field);
    if (!(v instanceof String)) {
      throw Failure.badRequest("invalid_request", "'" + field + "' must be a string ('content' and 'scope' are required "
          + "strings), got " + kind(v));
    }
  }

  /** Where a memory came from: an object as given, or a string that names the channel. */
  private static JsonObject source(Object raw) {
    JsonObject source;
    if (raw == null) {
      source = new JsonObject();
    } else if (raw instanceof JsonObject o) {
      source = o;
    } else if (raw instanceof String s) {
      source = new JsonObject().put("channel", s);
    } else {
      throw Failure.badRequest("invalid_source", "'source' must be an object or a string, got " + kind(raw));
    }
    if (source.encode().contains("\\u0000")) {
      throw Failure.badRequest("invalid_source", "'source' contains a NUL character (U+0000)");
    }
    if (source.encode().length() > MAX_SOURCE) {
      throw Failure.badRequest("invalid_source", "'source' is longer than " + MAX_SOURCE + " characters as JSON");
    }
    return source;
  }

  static String kind(Object v) {
    if (v == null) {
      return "nothing";
    }
    return v instanceof JsonObject ? "an object" : v instanceof JsonArray ? "an array" : v instanceof Number ? "a number"
        : v instanceof Boolean ? "a boolean" : v instanceof String ? "a string" : v.getClass().getSimpleName();
  }

  private static Instant expiry(JsonObject body) {
    Object at = body.getValue("expires_at");
    if (at == null) {
      return null;
    }
    Instant t;
    try {
      if (at instanceof Number n) {
        t = Instant.ofEpochSecond(Math.round(n.doubleValue()));
      } else if (at instanceof String s && s.matches("\\d{1,12}")) {
        t = Instant.ofEpochSecond(Long.parseLong(s));
      } else if (at instanceof String s) {
        t = Instant.parse(s);
      } else {
        throw new DateTimeException("not a time");
      }
    } catch (DateTimeException | ArithmeticException e) {
      throw Failure.badRequest("invalid_expires_at", "'expires_at' must be an ISO-8601 time such as 2026-12-31T00:00:00Z, "
          + "or unix seconds");
    }
    if (!t.isAfter(Instant.now())) {
      throw Failure.badRequest("invalid_expires_at", "'expires_at' is in the past");
    }
    if (t.isAfter(LATEST)) {
      throw Failure.badRequest("invalid_expires_at", "'expires_at' is after the year 9999; leave it out for a memory that does not expire");
    }
    return t;
  }

  private void search(Message<JsonObject> message) {
    if (!longTermReady(message)) {
      return;
    }
    JsonObject body = message.body();
    List<String> scopes = new ArrayList<>();
    if (body.getValue("scopes") instanceof JsonArray a) {
      a.forEach(s -> scopes.add(String.valueOf(s)));
    } else if (body.getString("scope") != null) {
      scopes.add(body.getString("scope"));
    }
    if (body.getValue("k") != null && !(body.getValue("k") instanceof Integer)) {
      Failure.reply(message, Failure.badRequest("invalid_k", "'k' must be an integer between 1 and 100"));
      return;
    }
    long started = System.nanoTime();
    longTerm.search(body.getString("q"), scopes, body.getInteger("k", 5))
        .onComplete(ar -> {
          Metrics.current().memorySearch(System.nanoTime() - started, ar.succeeded());
          reply(message, ar.map(r -> new JsonObject().put("data", LongTermMemory.views(r))));
        });
  }

  /** Memories for a prompt: best effort, so an unready memory recalls nothing rather than failing the caller. */
  private void recall(Message<JsonObject> message) {
    JsonObject none = new JsonObject().put("data", new JsonArray()).putNull("prompt");
    if (!longTermOpen || settings.recall() == 0) {
      message.reply(none);
      return;
    }
    List<String> scopes = new ArrayList<>();
    message.body().getJsonArray("scopes", new JsonArray()).forEach(s -> scopes.add(String.valueOf(s)));
    longTerm.search(message.body().getString("q"), scopes, settings.recall()).onComplete(ar -> {
      if (ar.failed()) {
        // a message with nothing to search for (only emoji modifiers, say) recalls nothing; that is no fault
        if (!(ar.cause() instanceof Failure f && f.status() < 500)) {
          LOG.warning("recall failed: " + ar.cause().getMessage());
        }
        message.reply(none);
        return;
      }
      List<Ranker.Ranked> kept = ar.result().stream().filter(r -> r.score() >= settings.minScore()).toList();
      message.reply(new JsonObject().put("data", LongTermMemory.views(kept)).put("prompt", LongTermMemory.prompt(kept)));
    });
  }

  private void list(Message<JsonObject> message) {
    if (!longTermReady(message)) {
      return;
    }
    JsonObject q = message.body();
    Memory.Status status;
    try {
      LongTermMemory.checkScope(q.getString("scope"));
      status = q.getString("status") == null ? Memory.Status.ACTIVE : Memory.Status.of(q.getString("status"));
    } catch (Failure f) {
      Failure.reply(message, f);
      return;
    } catch (IllegalArgumentException e) {
      Failure.reply(message, Failure.badRequest("invalid_status", "'status' is active or superseded"));
      return;
    }
    LongTermStore.Position after;
    try {
      after = q.getString("cursor") == null ? null : decodeCursor(q.getString("cursor"));
    } catch (Failure f) {
      Failure.reply(message, f);
      return;
    }
    if (q.getValue("limit") != null && !(q.getValue("limit") instanceof Integer l && l >= 1)) {
      Failure.reply(message, Failure.badRequest("invalid_limit", "'limit' must be a positive integer"));
      return;
    }
    int limit = q.getInteger("limit", 50);
    longTerm.store().list(q.getString("scope"), status, limit + 1, after, Instant.now())
        .onComplete(ar -> reply(message, ar.map(page -> {
          JsonArray data = new JsonArray();
          // design §3.3 gives lists and searches one item shape; a listing ranks nothing
          page.stream().limit(limit).forEach(m -> data.add(m.toJson().putNull("score")));
          return new JsonObject().put("data", data)
              .put("next_cursor", page.size() > limit ? encodeCursor(page.get(limit - 1)) : null);
        })));
  }

  /** Opaque to clients: where the page ended (creation time and id), so deleting that memory ends nothing. */
  static String encodeCursor(Memory last) {
    return java.util.Base64.getUrlEncoder().withoutPadding()
        .encodeToString((last.createdAt() + "|" + last.id()).getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  static LongTermStore.Position decodeCursor(String cursor) {
    try {
      String s = new String(java.util.Base64.getUrlDecoder().decode(cursor), java.nio.charset.StandardCharsets.UTF_8);
      int bar = s.indexOf('|');
      if (!LongTermMemory.plausibleId(s.substring(bar + 1))) {
        throw new IllegalArgumentException("not an id");
      }
      return new LongTermStore.Position(Instant.parse(s.substring(0, bar)), s.substring(bar + 1));
    } catch (RuntimeException e) {
      throw Failure.badRequest("invalid_cursor", "'cursor' is not one this API gave out");
    }
  }

  private void get(Message<String> message) {
    if (!longTermReady(message)) {
      return;
    }
    String id = message.body();
    (LongTermMemory.plausibleId(id) ? longTerm.store().byId(id) : Future.<Memory>succeededFuture(null)).compose(m -> {
      if (m == null) {
        return Future.failedFuture(Failure.notFound("memory_not_found", "no memory '" + id + "'"));
      }
      return longTerm.store().history(id).map(h -> {
        JsonArray history = new JsonArray();
        h.forEach(e -> history.add(new JsonObject().put("event", e.event()).put("content", e.content()).put("at", e.at().toString())));
        return m.toJson().put("history", history);
      });
    }).onComplete(ar -> reply(message, ar.map(x -> x)));
  }

  private void delete(Message<String> message) {
    if (!longTermReady(message)) {
      return;
    }
    String id = message.body();
    (LongTermMemory.plausibleId(id) ? longTerm.store().delete(id) : Future.succeededFuture(false))
        .compose(found -> found ? Future.succeededFuture()
            : Future.failedFuture(Failure.notFound("memory_not_found", "no memory '" + id + "'")))
        .onComplete(ar -> Audit.record(vertx, AuditEvent.of("", "memory.delete", id, ar.succeeded() ? "ok" : "failed")))
        .onComplete(ar -> reply(message, ar.map(x -> null)));
  }

  // ---------------------------------------------------------------------------------------------
  // embeddings and health

  /** {@code POST /v1/embeddings}: the configured embedder, in OpenAI's answer shape (see {@link EmbeddingsApi}). */
  private void embed(Message<JsonObject> message) {
    EmbeddingsApi.Request request;
    try {
      if (message.body() == null) {
        throw Failure.badRequest("invalid_json", "request body must be a JSON object");
      }
      request = EmbeddingsApi.parse(message.body(), embedder);
    } catch (Failure f) {
      Failure.reply(message, f);
      return;
    }
    // a remote model's size is known once it has answered once
    Future<Void> sized = request.dimensions() == null ? Future.succeededFuture()
        : embedder.ready().map(v -> {
          EmbeddingsApi.checkDimensions(request, embedder);
          return null;
        });
    sized.compose(v -> embedder.embed(request.texts()))
        .map(vectors -> EmbeddingsApi.answer(request, vectors, embedder.names().get(0)))
        .onComplete(ar -> reply(message, ar));
  }

  private void health(Message<Void> message) {
    Future<Void> st = shortTerm.store().ping();
    Future<Void> lt = longTermOpen ? longTerm.store().ping() : Future.failedFuture(longTermError);
    Future.join(st, lt).onComplete(ignored -> {
      JsonObject shortEntry = entry(st).put("store", storage.distributed() ? "redis" : "embedded");
      if (outbox != null) {
        shortEntry.put("summaries", shortTerm.summarizing());
      }
      JsonObject longEntry = entry(lt).put("store", storage.distributed() ? "postgresql" : "embedded")
          .put("embeddings", embedder.model()).put("reindexing", longTerm.reindexing());
      message.reply(new Health(new JsonObject().put("short_term_memory", shortEntry).put("long_term_memory", longEntry)));
    });
  }

  private static JsonObject entry(Future<Void> ping) {
    JsonObject e = new JsonObject().put("required", true).put("status", ping.succeeded() ? "up" : "down");
    if (ping.failed()) {
      e.put("error", String.valueOf(ping.cause().getMessage()));
    }
    return e;
  }

  private static <T> void reply(Message<?> message, io.vertx.core.AsyncResult<T> ar) {
    if (ar.succeeded()) {
      message.reply(ar.result());
    } else {
      Failure.reply(message, ar.cause());
    }
  }
}
