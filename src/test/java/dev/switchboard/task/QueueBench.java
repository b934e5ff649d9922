package dev.switchboard.task;

import dev.switchboard.bus.TaskSubmission.Priority;
import dev.switchboard.store.EmbeddedStore;
import dev.switchboard.task.TaskQueue.Lease;
import dev.switchboard.task.TaskQueue.NewTask;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The queue benchmark, mode (a) of {@code scripts/bench-queue.sh} (never run by the test suite):
 * no-op tasks end to end, submit, lease, complete, through the real {@link RedisTaskQueue} and, for
 * reference, the {@link EmbeddedTaskQueue}.
 *
 * <pre>
 *   java -cp ... dev.switchboard.task.QueueBench [redis] [embedded]     (REDIS_URL for redis)
 * </pre>
 *
 * <p>All of it runs on one event loop of one Vert.x instance, as the task verticle would: the
 * producers keep {@code producers} submissions in flight, each waiting for its durable answer;
 * {@code workers} worker loops each lease up to {@code batch} tasks, complete them all (the task
 * itself does nothing), and lease again; a worker that found nothing waits in
 * {@link TaskQueue#awaitWork}. Two figures per queue:
 * <ul>
 *   <li>throughput: {@code n} tasks, from the first submit to the last complete, after a warm-up
 *   run of {@code warmup} tasks (the JIT compiler, on one core, otherwise takes the first seconds);
 *   <li>latency: an open loop paced at {@code rate} submissions a second for {@code seconds}
 *   (submissions are not held back by slow answers, so a stall shows in the figures instead of
 *   slowing the load), per task from the call to submit to the completion of complete: p50, p99,
 *   max.
 * </ul>
 * Output: one tab-separated line per figure on stdout ({@code RESULT <queue> <figure> ...}),
 * progress on stderr. System properties (defaults): {@code -Dbench.n=200000 -Dbench.warmup=30000
 * -Dbench.producers=64 -Dbench.workers=4 -Dbench.batch=64 -Dbench.rate=2000 -Dbench.seconds=20
 * -Dbench.embedded.n=50000} (the embedded queue's n: it is a reference, and slower),
 * {@code -Dbench.prefix=bench:} (Redis keys; each run adds its own suffix).
 */
public final class QueueBench {

  private static final int N = Integer.getInteger("bench.n", 200_000);
  private static final int EMBEDDED_N = Integer.getInteger("bench.embedded.n", 50_000);
  private static final int WARMUP = Integer.getInteger("bench.warmup", 30_000);
  private static final int PRODUCERS = Integer.getInteger("bench.producers", 64);
  private static final int WORKERS = Integer.getInteger("bench.workers", 4);
  private static final int BATCH = Integer.getInteger("bench.batch", 64);
  private static final int RATE = Integer.getInteger("bench.rate", 2_000);
  private static final int SECONDS = Integer.getInteger("bench.seconds", 20);
  private static final String PREFIX = System.getProperty("bench.prefix", "bench:");
  private static final Duration VISIBILITY = Duration.ofSeconds(60);
  // a worker that found nothing waits at most this long; a wake-up normally comes much sooner
  private static final long IDLE_WAIT_MS = 100;

  private QueueBench() {
  }

  public static void main(String[] args) throws Exception {
    List<String> modes = args.length == 0 ? List.of("redis", "embedded") : Arrays.asList(args);
    Vertx vertx = Vertx.vertx();
    int status = 0;
    try {
      for (String mode : modes) {
        switch (mode) {
          case "redis" -> benchRedis(vertx);
          case "embedded" -> benchEmbedded(vertx);
          default -> throw new IllegalArgumentException("unknown mode " + mode + " (redis, embedded)");
        }
      }
    } catch (Exception e) {
      e.printStackTrace();
      status = 1;
    } finally {
      vertx.close().await(30, TimeUnit.SECONDS);
    }
    System.exit(status);
  }

  private static void benchRedis(Vertx vertx) throws Exception {
    String url = System.getenv("REDIS_URL");
    if (url == null || url.isBlank()) {
      throw new IllegalStateException("REDIS_URL is not set");
    }
    String run = Long.toString(System.currentTimeMillis(), 36);
    bench("redis", N, phase -> new RedisTaskQueue(vertx, url, PREFIX + run + ":" + phase + ":", VISIBILITY), vertx);
  }

  private static void benchEmbedded(Vertx vertx) throws Exception {
    Path dir = Files.createTempDirectory("switchboard-bench-queue");
    try {
      // one data folder per phase: a folder is one process's (DataDirLock), and the phases start empty
      List<EmbeddedStore> stores = new ArrayList<>();
      try {
        bench("embedded", EMBEDDED_N, phase -> {
          EmbeddedStore store = EmbeddedStore.open(vertx, dir.resolve(phase)).await(30, TimeUnit.SECONDS);
          stores.add(store);
          return EmbeddedTaskQueue.open(vertx, store).await(30, TimeUnit.SECONDS);
        }, vertx);
      } finally {
        for (EmbeddedStore s : stores) {
          s.close().await(30, TimeUnit.SECONDS);
        }
      }
    } finally {
      try (Stream<Path> files = Files.walk(dir)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  interface Opener {
    TaskQueue open(String phase) throws Exception;
  }

  private static void bench(String name, int n, Opener opener, Vertx vertx) throws Exception {
    log("%s: warm-up, %,d tasks", name, WARMUP);
    Throughput warm = runOn(vertx, opener.open("warmup"), q -> throughput(vertx, q, WARMUP));
    log("%s: warm-up %,.0f tasks/s", name, warm.perSecond());

    log("%s: throughput, %,d tasks, %d producers in flight, %d workers leasing up to %d", name, n, PRODUCERS, WORKERS, BATCH);
    Throughput t = runOn(vertx, opener.open("throughput"), q -> throughput(vertx, q, n));
    log("%s: %,.0f tasks/s (%,d in %.2f s, %d failed)", name, t.perSecond(), t.tasks(), t.seconds(), t.errors());
    result(name, "throughput", "tasks=" + t.tasks(), "seconds=" + fmt(t.seconds()), "tasks_per_s=" + fmt(t.perSecond()),
        "errors=" + t.errors());

    log("%s: latency, %,d/s for %d s", name, RATE, SECONDS);
    Latency l = runOn(vertx, opener.open("latency"), q -> latency(vertx, q));
    log("%s: p50 %.2f ms, p99 %.2f ms, max %.2f ms (%,d tasks, %d failed)", name, l.p50(), l.p99(), l.max(), l.tasks(),
        l.errors());
    result(name, "latency", "rate=" + RATE, "tasks=" + l.tasks(), "p50_ms=" + fmt(l.p50()), "p99_ms=" + fmt(l.p99()),
        "max_ms=" + fmt(l.max()), "errors=" + l.errors());
  }

  interface Run<T> {
    Future<T> start(TaskQueue q);
  }

  /** Runs a phase on an event loop of its own (as a verticle would) and closes the queue after. */
  private static <T> T runOn(Vertx vertx, TaskQueue q, Run<T> run) throws Exception {
    Context context = vertx.getOrCreateContext();
    Promise<T> done = Promise.promise();
    context.runOnContext(v -> run.start(q).onComplete(done));
    try {
      return done.future().await(10, TimeUnit.MINUTES);
    } finally {
      q.close().await(30, TimeUnit.SECONDS);
    }
  }

  record Throughput(int tasks, double seconds, int errors) {
    double perSecond() {
      return tasks / seconds;
    }
  }

  record Latency(int tasks, double p50, double p99, double max, int errors) {
  }

  private static NewTask noop(long submittedAt) {
    return new NewTask(new JsonObject().put("input", "noop").put("t", submittedAt), Priority.NORMAL, 0, 3, "bench", null);
  }

  /** Everything below runs on the phase's event loop: plain fields are enough. */
  private static final class Phase {
    final Vertx vertx;
    final TaskQueue q;
    final int total;
    final long[] latencies;
    final Promise<Void> finished = Promise.promise();
    int completed;
    int recorded;
    int failed;
    boolean stopping;

    Phase(Vertx vertx, TaskQueue q, int total, boolean measure) {
      this.vertx = vertx;
      this.q = q;
      this.total = total;
      this.latencies = measure ? new long[total] : null;
    }

    void startWorkers() {
      for (int w = 0; w < WORKERS; w++) {
        work("bench-" + w);
      }
    }

    private void work(String worker) {
      if (stopping) {
        return;
      }
      q.lease(worker, BATCH, VISIBILITY).onComplete(ar -> {
        if (ar.failed()) {
          failed++;
          log("lease failed: %s", ar.cause().getMessage());
          vertx.setTimer(IDLE_WAIT_MS, id -> work(worker));
          return;
        }
        List<Lease> leases = ar.result();
        if (leases.isEmpty()) {
          q.awaitWork(IDLE_WAIT_MS).onComplete(v -> work(worker));
          return;
        }
        List<Future<?>> completes = new ArrayList<>(leases.size());
        for (Lease lease : leases) {
          completes.add(q.complete(lease).onComplete(c -> {
            if (c.succeeded() && c.result() == TaskQueue.Fenced.OK) {
              if (latencies != null && recorded < latencies.length) {
                latencies[recorded++] = System.nanoTime() - lease.task().spec().getLong("t");
              }
              done();
            } else {
              failed++;
              log("complete failed: %s", c.failed() ? c.cause().getMessage() : c.result());
            }
          }));
        }
        Future.join(completes).onComplete(v -> work(worker));
      });
    }

    private void done() {
      if (++completed == total) {
        stopping = true;
        finished.tryComplete();
      }
    }

    void submitFailed(Throwable e) {
      failed++;
      log("submit failed: %s", e.getMessage());
      // counted as done so that the phase ends; the failure is reported
      done();
    }
  }

  private static Future<Throughput> throughput(Vertx vertx, TaskQueue q, int n) {
    Phase phase = new Phase(vertx, q, n, false);
    long start = System.nanoTime();
    int[] submitted = {0};
    Runnable[] next = new Runnable[1];
    next[0] = () -> {
      if (submitted[0] >= n) {
        return;
      }
      submitted[0]++;
      q.submit(noop(System.nanoTime())).onComplete(ar -> {
        if (ar.failed()) {
          phase.submitFailed(ar.cause());
        }
        next[0].run();
      });
    };
    phase.startWorkers();
    for (int p = 0; p < PRODUCERS; p++) {
      next[0].run();
    }
    return phase.finished.future().map(v -> new Throughput(n, (System.nanoTime() - start) / 1e9, phase.failed));
  }

  private static Future<Latency> latency(Vertx vertx, TaskQueue q) {
    int total = RATE * SECONDS;
    Phase phase = new Phase(vertx, q, total, true);
    phase.startWorkers();
    long start = System.nanoTime();
    int[] submitted = {0};
    // every millisecond, as many submissions as the rate asks for by now (a late tick catches up)
    long timer = vertx.setPeriodic(1, id -> {
      long due = Math.min(total, (System.nanoTime() - start) * RATE / 1_000_000_000L + 1);
      while (submitted[0] < due) {
        submitted[0]++;
        q.submit(noop(System.nanoTime())).onFailure(phase::submitFailed);
      }
    });
    return phase.finished.future().map(v -> {
      vertx.cancelTimer(timer);
      long[] sorted = Arrays.copyOf(phase.latencies, phase.recorded);
      Arrays.sort(sorted);
      return new Latency(sorted.length, percentile(sorted, 0.50), percentile(sorted, 0.99),
          sorted.length == 0 ? 0 : sorted[sorted.length - 1] / 1e6, phase.failed);
    });
  }

  private static double percentile(long[] sorted, double p) {
    if (sorted.length == 0) {
      return 0;
    }
    int i = (int) Math.ceil(p * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, i))] / 1e6;
  }

  private static String fmt(double d) {
    return String.format(Locale.ROOT, "%.3f", d);
  }

  private static void result(String queue, String figure, String... fields) {
    System.out.println("RESULT\t" + queue + "\t" + figure + "\t" + String.join("\t", fields));
    System.out.flush();
  }

  private static void log(String format, Object... args) {
    System.err.println("queue-bench: " + String.format(Locale.ROOT, format, args));
  }

}
