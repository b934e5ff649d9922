// BullMQ, the reference next to QueueBench in scripts/bench-queue.sh: the same two figures, with
// the same shape of load, against the same Redis.
//
//   node bench.mjs            (env REDIS_URL, BENCH_* below)
//
// One process, as the Java side: producers keep BENCH_PRODUCERS queue.add calls in flight (each
// waits for its answer, as a submission waits for its durable write); one Worker with
// BENCH_CONCURRENCY runs no-op jobs. A job is done when the worker's 'completed' event fires (the
// job was moved to completed in Redis). Completed jobs are kept (BullMQ's default), as the Switchboard
// queue keeps finished tasks for its retention.
//   throughput: BENCH_N jobs from the first add to the last completion, after BENCH_WARMUP jobs
//   latency: an open loop paced at BENCH_RATE adds a second for BENCH_SECONDS, per job from the
//            call to add to its 'completed' event: p50, p99, max
// Output: a tab-separated RESULT line per figure on stdout, progress on stderr.
import { Queue, Worker } from 'bullmq';
import IORedis from 'ioredis';
import { performance } from 'node:perf_hooks';

const env = (name, dflt) => Number.parseInt(process.env[name] ?? `${dflt}`, 10);
const N = env('BENCH_N', 200000);
const WARMUP = env('BENCH_WARMUP', 30000);
const PRODUCERS = env('BENCH_PRODUCERS', 64);
const CONCURRENCY = env('BENCH_CONCURRENCY', 64);
const RATE = env('BENCH_RATE', 2000);
const SECONDS = env('BENCH_SECONDS', 20);
const REDIS_URL = process.env.REDIS_URL;
if (!REDIS_URL) {
  console.error('bullmq-bench: REDIS_URL is not set');
  process.exit(2);
}

const log = (msg) => console.error(`bullmq-bench: ${msg}`);
const fmt = (x) => x.toFixed(3);
const result = (figure, fields) => console.log(['RESULT', 'bullmq', figure, ...fields].join('\t'));

// one connection for the producers, one (blocking) for the worker, as BullMQ advises
function connection() {
  return new IORedis(REDIS_URL, { maxRetriesPerRequest: null, enableOfflineQueue: true });
}

/** Runs one phase on a queue of its own: jobs added by `produce`, done when `total` completed. */
async function phase(name, total, produce, onCompleted) {
  const producerConnection = connection();
  const workerConnection = connection();
  const queue = new Queue(name, { connection: producerConnection });
  let completed = 0;
  let failed = 0;
  let finish;
  const finished = new Promise((resolve) => { finish = resolve; });
  const worker = new Worker(name, async () => {}, {
    connection: workerConnection,
    concurrency: CONCURRENCY,
    autorun: false,
  });
  worker.on('completed', (job) => {
    onCompleted?.(job);
    if (++completed === total) finish();
  });
  worker.on('failed', (job, err) => {
    failed++;
    log(`job failed: ${err?.message}`);
    if (++completed === total) finish();
  });
  worker.on('error', (err) => log(`worker error: ${err?.message}`));
  await queue.waitUntilReady();
  await worker.waitUntilReady();
  const start = performance.now();
  worker.run();
  const produced = produce(queue, () => { failed++; if (++completed === total) finish(); });
  await finished;
  const seconds = (performance.now() - start) / 1000;
  await produced;
  await worker.close();
  await queue.close();
  producerConnection.disconnect();
  workerConnection.disconnect();
  return { seconds, failed };
}

function closedLoop(n) {
  return async (queue, addFailed) => {
    let next = 0;
    const producer = async () => {
      while (next < n) {
        next++;
        try {
          await queue.add('noop', { input: 'noop', t: performance.now() });
        } catch (e) {
          log(`add failed: ${e.message}`);
          addFailed();
        }
      }
    };
    await Promise.all(Array.from({ length: PRODUCERS }, producer));
  };
}

async function throughput(name, n) {
  const { seconds, failed } = await phase(name, n, closedLoop(n));
  return { n, seconds, perSecond: n / seconds, failed };
}

async function latency() {
  const total = RATE * SECONDS;
  const latencies = new Float64Array(total);
  let recorded = 0;
  const paced = (queue, addFailed) => new Promise((resolve) => {
    const start = performance.now();
    let submitted = 0;
    // every millisecond, as many adds as the rate asks for by now (a late tick catches up)
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor((performance.now() - start) * RATE / 1000) + 1);
      while (submitted < due) {
        submitted++;
        queue.add('noop', { input: 'noop', t: performance.now() }).catch((e) => {
          log(`add failed: ${e.message}`);
          addFailed();
        });
      }
      if (submitted >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  const { failed } = await phase(`bench-latency-${Date.now()}`, total, paced, (job) => {
    if (recorded < total) latencies[recorded++] = performance.now() - job.data.t;
  });
  const sorted = latencies.subarray(0, recorded).sort();
  const pct = (p) => (sorted.length ? sorted[Math.max(0, Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1))] : 0);
  return { tasks: sorted.length, p50: pct(0.5), p99: pct(0.99), max: sorted.length ? sorted[sorted.length - 1] : 0, failed };
}

log(`warm-up, ${WARMUP} jobs`);
const warm = await throughput(`bench-warmup-${Date.now()}`, WARMUP);
log(`warm-up ${warm.perSecond.toFixed(0)} jobs/s`);

log(`throughput, ${N} jobs, ${PRODUCERS} producers in flight, worker concurrency ${CONCURRENCY}`);
const t = await throughput(`bench-throughput-${Date.now()}`, N);
log(`${t.perSecond.toFixed(0)} jobs/s (${t.n} in ${t.seconds.toFixed(2)} s, ${t.failed} failed)`);
result('throughput', [`tasks=${t.n}`, `seconds=${fmt(t.seconds)}`, `tasks_per_s=${fmt(t.perSecond)}`, `errors=${t.failed}`]);

log(`latency, ${RATE}/s for ${SECONDS} s`);
const l = await latency();
log(`p50 ${l.p50.toFixed(2)} ms, p99 ${l.p99.toFixed(2)} ms, max ${l.max.toFixed(2)} ms (${l.tasks} jobs, ${l.failed} failed)`);
result('latency', [`rate=${RATE}`, `tasks=${l.tasks}`, `p50_ms=${fmt(l.p50)}`, `p99_ms=${fmt(l.p99)}`, `max_ms=${fmt(l.max)}`,
  `errors=${l.failed}`]);
process.exit(0);
