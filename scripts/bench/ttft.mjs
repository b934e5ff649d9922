// Time to first token of streamed chat completions, for scripts/bench-proxy.sh: wrk only sees
// when a response ends, so this client (Node 20+, no dependencies) measures, per request, the time
// from sending it to the first byte of the first event, and to the end.
//
//   node scripts/bench/ttft.mjs --url http://127.0.0.1:18789 --connections 16 --seconds 8 \
//        [--warmup 4] [--token JWT] [--model fake-model]
//
// Prints one machine-readable line:
//   TTFT requests=N seconds=S rps=R ttft_p50_us=U ttft_p99_us=U total_p50_us=U total_p99_us=U errors=N
import http from 'node:http';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []));
const url = new URL('/v1/chat/completions', args.url ?? 'http://127.0.0.1:18789');
const connections = Number(args.connections ?? 16);
const seconds = Number(args.seconds ?? 8);
const warmup = Number(args.warmup ?? 0);
const body = JSON.stringify({
  model: args.model ?? 'fake-model', stream: true, messages: [{ role: 'user', content: 'hello benchmark' }],
});
const headers = { 'content-type': 'application/json', accept: 'text/event-stream', 'content-length': Buffer.byteLength(body) };
if (args.token) headers.authorization = `Bearer ${args.token}`;
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });

const ttft = [];
const total = [];
let errors = 0;
let measuring = false;
let stopped = false;

function one() {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    let first = 0n;
    const req = http.request(url, { method: 'POST', headers, agent }, (res) => {
      res.on('data', () => {
        if (first === 0n) first = process.hrtime.bigint();
      });
      res.on('end', () => {
        const ended = process.hrtime.bigint();
        if (measuring) {
          if (res.statusCode !== 200 || first === 0n) errors++;
          else {
            ttft.push(Number(first - started) / 1000);
            total.push(Number(ended - started) / 1000);
          }
        }
        resolve();
      });
    });
    req.on('error', () => {
      if (measuring) errors++;
      resolve();
    });
    req.end(body);
  });
}

async function loop() {
  while (!stopped) await one();
}

const percentile = (xs, p) => {
  if (xs.length === 0) return 0;
  const sorted = Float64Array.from(xs).sort();
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

const loops = Array.from({ length: connections }, loop);
await new Promise((r) => setTimeout(r, warmup * 1000));
measuring = true;
const from = process.hrtime.bigint();
await new Promise((r) => setTimeout(r, seconds * 1000));
measuring = false;
const took = Number(process.hrtime.bigint() - from) / 1e9;
stopped = true;
await Promise.all(loops);
agent.destroy();
console.log(`TTFT requests=${ttft.length} seconds=${took.toFixed(3)} rps=${(ttft.length / took).toFixed(2)}`
  + ` ttft_p50_us=${percentile(ttft, 50).toFixed(0)} ttft_p99_us=${percentile(ttft, 99).toFixed(0)}`
  + ` total_p50_us=${percentile(total, 50).toFixed(0)} total_p99_us=${percentile(total, 99).toFixed(0)} errors=${errors}`);
