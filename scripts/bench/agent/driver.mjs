// Drives the agent runs of scripts/bench-agent.sh one after another and reports their times.
// No dependencies (Node 20+).
//
//   node driver.mjs --target switchboard|openclaw --url http://127.0.0.1:PORT --token T \
//        --log model.jsonl --runs 20 --warmup 3 --first 1 [--out runs.jsonl]
//
// switchboard: POST /api/v1/tasks {input, skills, memory_scope, max_attempts: 1}, then GET
//   /api/v1/tasks/{id} every POLL_MS until it is finished; the gateway's own created_at ->
//   updated_at is kept too (no polling in it).
// openclaw: POST /v1/chat/completions {model: "openclaw"} (OpenClaw's agent endpoint, a full
//   agent run), timed until the whole answer has arrived.
//
// Afterwards each run is matched with what the fake model logged for it (fake-model.mjs): model
// time (sum over its model requests of arrival -> answer written), page time (the http_fetch /
// web_fetch target), and overhead = wall - model - page. A run counts only if it took exactly two
// model requests (three tool calls, then the answer), fetched the page once and answered with the
// fake's final text; otherwise it is reported as failed with the reason.
import { readFileSync, appendFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []));
const target = args.target;
const url = args.url;
const token = args.token;
const runs = Number(args.runs ?? 20);
const warmup = Number(args.warmup ?? 3);
const first = Number(args.first ?? 1);
const out = args.out;
const POLL_MS = Number(args['poll-ms'] ?? 5);
const RUN_TIMEOUT_MS = Number(args['run-timeout-ms'] ?? 60000);
if (!['switchboard', 'openclaw'].includes(target) || !url || !token || !args.log) {
  console.error('usage: driver.mjs --target switchboard|openclaw --url URL --token TOKEN --log model.jsonl [--runs N --warmup N --first N --out FILE]');
  process.exit(2);
}
if (out) writeFileSync(out, '');

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const question = (run) => `bench-run-${run}: what time is it in Berlin, what does the bench page say, and what do you remember about the bench fact?`;
const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

async function switchboardRun(run) {
  const t0 = now();
  const submitted = await fetch(`${url}/api/v1/tasks`, {
    method: 'POST', headers: auth,
    body: JSON.stringify({ input: question(run), skills: ['current_time', 'http_fetch', 'recall'], memory_scope: 'agent:bench', max_attempts: 1 }),
  });
  const accepted = await submitted.json();
  if (submitted.status !== 202) return { run, t0, t1: now(), error: `submit answered ${submitted.status}: ${JSON.stringify(accepted)}` };
  for (;;) {
    const r = await fetch(`${url}/api/v1/tasks/${accepted.id}`, { headers: auth });
    const task = await r.json();
    if (['succeeded', 'failed', 'cancelled'].includes(task.status)) {
      const t1 = now();
      return { run, t0, t1, answer: task.result, status: task.status, error: task.error ?? undefined,
        server_ms: Date.parse(task.updated_at) - Date.parse(task.created_at) };
    }
    if (now() - t0 > RUN_TIMEOUT_MS) return { run, t0, t1: now(), error: `still ${task.status} after ${RUN_TIMEOUT_MS} ms` };
    await sleep(POLL_MS);
  }
}

async function openclawRun(run) {
  const t0 = now();
  const r = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST', headers: auth, signal: AbortSignal.timeout(RUN_TIMEOUT_MS),
    body: JSON.stringify({ model: 'openclaw', messages: [{ role: 'user', content: question(run) }] }),
  });
  const body = await r.text();
  const t1 = now();
  let answer;
  try { answer = JSON.parse(body).choices[0].message.content; } catch { /* reported below */ }
  return { run, t0, t1, answer, status: r.status, error: r.status === 200 && answer ? undefined : `HTTP ${r.status}: ${body.slice(0, 300)}` };
}

const one = target === 'switchboard' ? switchboardRun : openclawRun;
const results = [];
for (let i = 0; i < warmup + runs; i++) {
  const run = first + i;
  let r;
  try {
    r = await one(run);
  } catch (e) {
    r = { run, t0: 0, t1: 0, error: String(e?.cause?.message ?? e?.message ?? e) };
  }
  r.warmup = i < warmup;
  results.push(r);
  process.stderr.write(`${target} run ${run}${r.warmup ? ' (warm-up)' : ''}: ${(r.t1 - r.t0).toFixed(1)} ms${r.error ? ' ERROR ' + r.error : ''}\n`);
}

// what the fake model and the page saw, by run
await sleep(200);
const seen = new Map();
for (const line of readFileSync(args.log, 'utf8').split('\n')) {
  if (!line.trim()) continue;
  const e = JSON.parse(line);
  if (e.run == null) continue;
  if (!seen.has(e.run)) seen.set(e.run, []);
  seen.get(e.run).push(e);
}

const measured = [];
const failed = [];
for (const r of results) {
  const entries = (seen.get(r.run) ?? []).sort((a, b) => a.start - b.start);
  const model = entries.filter((e) => e.kind === 'model');
  const page = entries.filter((e) => e.kind === 'page');
  const sum = (xs) => xs.reduce((s, e) => s + (e.end - e.start), 0);
  const row = {
    run: r.run, warmup: r.warmup, wall_ms: r.t1 - r.t0, server_ms: r.server_ms,
    model_requests: model.length, page_requests: page.length,
    model_ms: sum(model), page_ms: sum(page),
    // what the gateway sent the model on turn 1 (system prompt, tool schemas, question), in KB
    request_kb: model.length ? (model[0].bytes ?? 0) / 1024 : null,
    // submit -> first model request; turn 1 answered -> turn 2 asked (the three tools and the
    // gateway's own work); last model answer -> result seen by the client
    before_ms: model.length ? model[0].start - r.t0 : null,
    between_ms: model.length >= 2 ? model[1].start - model[0].end : null,
    after_ms: model.length ? r.t1 - model[model.length - 1].end : null,
  };
  row.overhead_ms = row.wall_ms - row.model_ms - row.page_ms;
  const problems = [];
  if (r.error) problems.push(r.error);
  if (model.length !== 2) problems.push(`${model.length} model requests (expected 2)`);
  if (page.length !== 1) problems.push(`${page.length} page requests (expected 1)`);
  if (model.some((e) => e.status !== 200)) problems.push('a model request was refused: ' + model.filter((e) => e.status !== 200).map((e) => e.error).join('; '));
  if (!(r.answer ?? '').includes(`bench-run-${r.run} done: 3 tool results`)) problems.push(`answer: ${JSON.stringify((r.answer ?? '').slice(0, 200))}`);
  row.ok = problems.length === 0;
  if (!row.ok) row.problems = problems;
  if (out) appendFileSync(out, JSON.stringify({ target, ...row, answer: r.answer }) + '\n');
  if (r.warmup) continue;
  (row.ok ? measured : failed).push(row);
}

function pct(xs, p) {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  // nearest rank
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
const f = (x) => (Number.isFinite(x) ? x.toFixed(1) : '-');
const col = (name) => measured.map((m) => m[name]).filter((x) => x != null);
const summary = { target, runs: measured.length, failed: failed.length };
for (const name of ['request_kb', 'wall_ms', 'server_ms', 'model_ms', 'page_ms', 'overhead_ms', 'before_ms', 'between_ms', 'after_ms']) {
  const xs = col(name);
  if (xs.length) summary[name] = { p50: pct(xs, 50), p95: pct(xs, 95) };
}
for (const fr of failed) process.stderr.write(`${target} run ${fr.run} failed: ${fr.problems.join('; ')}\n`);
// one line the shell script turns into the table
console.log('RESULT ' + JSON.stringify(summary));
process.stderr.write(`${target}: ${measured.length} runs measured, ${failed.length} failed; wall p50 ${f(summary.wall_ms?.p50)} p95 ${f(summary.wall_ms?.p95)} ms\n`);
process.exit(failed.length && !measured.length ? 1 : 0);
