package dev.switchboard.memory;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.onnx.AbstractInProcessEmbeddingModel;
import dev.langchain4j.model.embedding.onnx.OnnxBertBiEncoder;
import dev.langchain4j.model.embedding.onnx.PoolingMode;
import dev.switchboard.bus.Failure;
import java.io.IOException;
import java.io.InputStream;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayInputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * The in-process model (bge-small-zh v1.5, quantized, 512 dimensions) on ONNX Runtime, so memory
 * works with no network at all. Inference is CPU-bound and blocking, so it runs on its own small
 * worker pool; a call's texts run as one batch on one worker, and the model runs each text on the
 * calling thread (no hidden executor competing for the cores).
 */
final class LocalEmbedder implements Embedder {

  static final String MODEL = "local:bge-small-zh-v1.5-q";
  /** What clients call it in {@code POST /v1/embeddings}: its published name first, then its Hugging Face id and ours. */
  static final List<String> NAMES = List.of("bge-small-zh-v1.5", "BAAI/bge-small-zh-v1.5", MODEL);
  static final int DIMENSIONS = 512;
  /** The model's position embeddings end here; longer texts are cut (the tokenizer's setting, made explicit). */
  static final int MAX_TOKENS = 512;

  /**
   * The tokenizer's native library is chosen by DJL's platform detection, which asks the CUDA
   * runtime for GPUs whenever a libcudart is installed and logs a warning when the driver does not
   * match. We only ever load the CPU build, so that answer is noise: only this one logger is
   * quietened (held here, since the logging system keeps loggers only weakly).
   */
  private static final java.util.logging.Logger CUDA_PROBE = quiet("ai.djl.util.cuda.CudaUtils");

  private static java.util.logging.Logger quiet(String name) {
    java.util.logging.Logger logger = java.util.logging.Logger.getLogger(name);
    logger.setLevel(java.util.logging.Level.SEVERE);
    return logger;
  }

  private final WorkerExecutor worker;
  private final int threads;
  private Future<AbstractInProcessEmbeddingModel> model;

  LocalEmbedder(Vertx vertx, int threads, java.nio.file.Path dataDir) {
    this.worker = vertx.createSharedWorkerExecutor("switchboard-embed", Math.max(1, threads));
    this.threads = Math.max(1, threads);
    // the tokenizer unpacks its native library into a cache folder: keep it in the data dir rather
    // than a home directory the service account may not be able to write
    if (System.getProperty("DJL_CACHE_DIR") == null && System.getenv("DJL_CACHE_DIR") == null) {
      System.setProperty("DJL_CACHE_DIR", dataDir.resolve("cache").toAbsolutePath().toString());
    }
  }

  @Override
  public String model() {
    return MODEL;
  }

  @Override
  public List<String> names() {
    return NAMES;
  }

  @Override
  public int dimensions() {
    return DIMENSIONS;
  }

  /** The dimensions are known without the model, so nothing needs loading before the store opens. */
  @Override
  public Future<Void> ready() {
    return Future.succeededFuture();
  }

  /**
   * Loading reads a 24 MB model and starts ONNX Runtime (about a second and some 100 MB of native
   * memory), so it happens on first use: a gateway that never touches memory never pays for it.
   */
  private synchronized Future<AbstractInProcessEmbeddingModel> loaded() {
    if (model == null || model.failed()) {
      model = worker.executeBlocking(this::load, false);
    }
    return model;
  }

  /**
   * The model with a session of our own making: ONNX Runtime's defaults take every core for one
   * inference (competing with the event loops on a small server) and keep a growing memory arena;
   * here inference uses the configured threads and frees what it used, which keeps the process
   * about 100 MB smaller.
   */
  private AbstractInProcessEmbeddingModel load() throws OrtException, IOException {
    OrtEnvironment environment = OrtEnvironment.getEnvironment();
    OrtSession.SessionOptions options = new OrtSession.SessionOptions();
    options.setIntraOpNumThreads(threads);
    options.setInterOpNumThreads(1);
    options.setCPUArenaAllocator(false);
    options.setMemoryPatternOptimization(false);
    byte[] onnx;
    try (InputStream in = resource("/bge-small-zh-v1.5-q.onnx")) {
      onnx = in.readAllBytes();
    }
    OrtSession session = environment.createSession(onnx, options);
    this.session = session;
    OnnxBertBiEncoder encoder;
    try (InputStream tokenizer = resource("/bge-small-zh-v1.5-q-tokenizer.json")) {
      encoder = new OnnxBertBiEncoder(environment, session, withTruncation(tokenizer.readAllBytes()), PoolingMode.CLS);
    }
    return new AbstractInProcessEmbeddingModel(Runnable::run) {
      @Override
      protected OnnxBertBiEncoder model() {
        return encoder;
      }

      @Override
      protected Integer knownDimension() {
        return DIMENSIONS;
      }
    };
  }

  /**
   * The shipped tokenizer file leaves its truncation unset, so DJL falls back to the model's 512
   * tokens and warns about it on every load; saying 512 in the file is the same setting without the
   * warning.
   */
  static InputStream withTruncation(byte[] tokenizerJson) {
    JsonObject tokenizer = new JsonObject(Buffer.buffer(tokenizerJson));
    if (tokenizer.getValue("truncation") == null) {
      tokenizer.put("truncation", new JsonObject().put("direction", "Right").put("max_length", MAX_TOKENS)
          .put("strategy", "LongestFirst").put("stride", 0));
    }
    return new ByteArrayInputStream(tokenizer.toBuffer().getBytes());
  }

  private static InputStream resource(String name) throws IOException {
    InputStream in = LocalEmbedder.class.getResourceAsStream(name);
    if (in == null) {
      throw new IOException("the local embedding model is missing from the class path: " + name);
    }
    return in;
  }

  @Override
  public boolean warm() {
    Future<AbstractInProcessEmbeddingModel> m = model;
    return m != null && m.succeeded();
  }

  @Override
  public Future<List<float[]>> embed(List<String> texts) {
    for (int i = 0; i < texts.size(); i++) {
      if (!Embedder.hasText(texts.get(i))) {
        // the model has no tokens to work on and would fail: the caller's text, not the gateway, is at fault
        return Future.failedFuture(unreadable(i));
      }
    }
    if (texts.size() <= CHUNK) {
      return embedChunk(texts);
    }
    // a big request goes in chunks, so other callers' texts get a turn on the worker in between
    Future<List<float[]>> all = Future.succeededFuture(new java.util.ArrayList<>(texts.size()));
    for (int i = 0; i < texts.size(); i += CHUNK) {
      List<String> chunk = texts.subList(i, Math.min(texts.size(), i + CHUNK));
      all = all.compose(done -> embedChunk(chunk).map(vs -> {
        done.addAll(vs);
        return done;
      }));
    }
    return all;
  }

  private static final int CHUNK = 32;

  private Future<List<float[]>> embedChunk(List<String> texts) {
    return loaded().compose(v -> worker.executeBlocking(() -> {
      List<TextSegment> segments = new ArrayList<>(texts.size());
      for (String t : texts) {
        segments.add(TextSegment.from(t));
      }
      List<Embedding> embeddings;
      try {
        embeddings = v.embedAll(segments).content();
      } catch (RuntimeException e) {
        // what the tokenizer drops is not exactly knowable up front: a text it reduces to nothing
        // fails here (blank, or no tokens), and is still the caller's text
        if (cause(e) instanceof IndexOutOfBoundsException || cause(e) instanceof IllegalArgumentException) {
          throw unreadable(-1);
        }
        throw e;
      }
      List<float[]> out = new ArrayList<>(embeddings.size());
      for (Embedding e : embeddings) {
        out.add(Embedder.normalize(e.vector()));
      }
      return out;
    }, false));
  }

  private static Throwable cause(Throwable e) {
    return e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
  }

  private static Failure unreadable(int index) {
    return Failure.badRequest("unreadable_input", (index < 0 ? "a text" : "text " + index)
        + " has nothing the local model can read (only white space, control or invisible characters)");
  }

  /** The session holds native memory the garbage collector does not see: closed with the embedder. */
  private volatile OrtSession session;

  @Override
  public void close() {
    OrtSession s = session;
    if (s == null) {
      worker.close();
      return;
    }
    // on the worker, behind any inference still running there (one thread by default)
    worker.executeBlocking(() -> {
      s.close();
      return null;
    }, true).onComplete(ar -> worker.close());
  }
}
